/**
 * `sample`: one stage's sampling loop (Stage C or Stage B) from a config + weights, with the conditioning pairs
 * and (optionally) the recorded noise of a golden sampling file, writing every step's tensors under the golden
 * names — the way to check a trajectory against PyTorch outside the test suite.
 *
 * Samplers: `gdf` (the official GDF.sample, golden/sampling_stage_{c,b}) and the k-diffusion samplers `dpmpp-2m`
 * and `lcm` on Stable Cascade's σ schedule (--schedule sgm-uniform|exponential|normal|karras; ComfyUI-style,
 * golden/sampling_comfy_stage_{c,b}).
 *
 * Inputs (names exactly as in the golden files):
 * - --cond: `cond.<input>` and `uncond.<input>` for every conditioning input of the network (Stage C:
 *   clip_text [B,Lt,Ct], clip_text_pooled [B,1,Ct], optional clip_img [B,1,Ci]; Stage B: effnet [B,16,He,We],
 *   clip [B,1,Ct]). The CFG batch is [cond rows; uncond rows], paired by position (spec §1.4).
 * - --noise: `x_init` [B,C,H,W] (the first draw) and `step<I>.noise` [B,C,H,W] for every step that draws (gdf: all,
 *   LCM: all but the last, DPM++(2M): none), consumed in the reference's draw order; or --seed: a TorchGenerator
 *   seeded once, drawing the same sequence, with the latent shape from --shape.
 * Outputs: `step<I>.model_out` [Bm,C,H,W] (the network's raw ε; Bm = 2B when guided), `step<I>.model_r` [Bm], and
 * - gdf: `step<I>.x0` and `step<I>.x` (after the step) [B,C,H,W], `final.sampled` = the last x0;
 * - k-diffusion: `sigmas` [steps+1], `x_start`, `step<I>.model_in` (the network's x, one half), `step<I>.denoised`,
 *   `step<I>.x` (the state before the call) [B,C,H,W], `final.sampled` = the final x.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Tensor } from 'onnxruntime-common';
import { createNodeEngine, NODE_ENGINE_BACKENDS } from '../../engine/node-engine.ts';
import type { OrtEngine } from '../../engine/ort-engine.ts';
import { checkpointSource } from '../../models/checkpoint-source.ts';
import { compileInMemory } from '../../models/compile.ts';
import { buildModel, MODEL_IO, parseModelConfig } from '../../models/registry.ts';
import { loadSamplerGraphs, releaseSamplerGraphs, sampleStageOnDevice } from '../../pipeline/device-sampler.ts';
import { SIGMA_SCHEDULES } from '../../pipeline/samplers/cascade-sigmas.ts';
import { createStageSampler } from '../../pipeline/samplers/create-stage-sampler.ts';
import type { SamplerConfig } from '../../pipeline/samplers/presets.ts';
import { shapeNumel, TorchGenerator } from '../../core/torch-generator.ts';
import { relMaxDiff } from '../../testing/golden.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { SafetensorsFile } from '../../weights/safetensors.ts';
import { encodeSafetensors, type TensorToWrite } from '../../weights/safetensors-writer.ts';
import { oneOf, parseCli, required, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE =
  'npm run cli -- sample --config C.json --weights W.safetensors [--weights W2 …] --cond F.safetensors ' +
  '[--sampler gdf|dpmpp-2m|lcm] [--schedule sgm-uniform|exponential|normal|karras] --steps N --cfg W --shift S [--rho 0.7] ' +
  '[--noise F.safetensors | --seed N --shape B,C,H,W] --out O.safetensors [--backend node|wasm] [--compare REF.safetensors] ' +
  '[--r-freqs F.safetensors:TENSOR]';

const SAMPLERS = ['gdf', 'dpmpp-2m', 'lcm'] as const;
const SCHEDULES = SIGMA_SCHEDULES.map((s) => s.replace('_', '-') as `${string}`);

function number(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`missing ${flag}`, USAGE);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got "${value}")`, USAGE);
  return n;
}

/**
 * [cond rows; uncond rows] of one conditioning input: [2B, …] from two [B, …] tensors; only the cond rows [B, …]
 * when the sampler does not guide.
 */
async function condPair(engine: OrtEngine, file: SafetensorsFile, name: string, guided: boolean): Promise<{ tensor: Tensor; dims: number[] }> {
  for (const half of ['cond', 'uncond']) {
    if (!file.has(`${half}.${name}`)) throw new Error(`${file.name} lacks ${half}.${name}`);
  }
  const shape = [...file.info(`cond.${name}`).shape];
  const uncondShape = file.info(`uncond.${name}`).shape;
  if (uncondShape.join() !== shape.join()) {
    throw new Error(`${file.name}: cond.${name} is [${shape}] but uncond.${name} is [${uncondShape}]`);
  }
  const cond = await file.readFloat32(`cond.${name}`);
  if (!guided) return { tensor: engine.f32(cond, shape), dims: shape };
  const both = new Float32Array(cond.length * 2);
  both.set(cond);
  both.set(await file.readFloat32(`uncond.${name}`), cond.length);
  const dims = [shape[0] * 2, ...shape.slice(1)];
  return { tensor: engine.f32(both, dims), dims };
}

/**
 * `--r-freqs F.safetensors:TENSOR`: the r-embedding frequency table to build the network with (e.g. the golden
 * rng_torch_cpu.safetensors:r_freqs.avx2, to check a trajectory PyTorch computed with AVX2 kernels).
 */
async function readTensorSpec(spec: string): Promise<Float32Array> {
  const at = spec.lastIndexOf(':');
  if (at <= 0) throw new UsageError(`--r-freqs takes F.safetensors:TENSOR (got "${spec}")`, USAGE);
  const file = await SafetensorsFile.open(fileSource(spec.slice(0, at)));
  const name = spec.slice(at + 1);
  if (!file.has(name)) throw new Error(`${file.name} has no tensor ${name}`);
  return file.readFloat32(name);
}

export const command: CliCommand = {
  summary: 'run one Stage C/B sampler (gdf, dpmpp-2m, lcm) from config + weights + cond/uncond (+ recorded noise)',
  async run(argv) {
    const { values } = parseCli(argv, {
      config: { type: 'string' },
      weights: { type: 'string', multiple: true },
      cond: { type: 'string' },
      sampler: { type: 'string' },
      schedule: { type: 'string' },
      steps: { type: 'string' },
      cfg: { type: 'string' },
      shift: { type: 'string' },
      rho: { type: 'string' },
      noise: { type: 'string' },
      seed: { type: 'string' },
      shape: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      compare: { type: 'string' },
      'r-freqs': { type: 'string' },
    }, USAGE);
    const model = parseModelConfig(JSON.parse(await readFile(required(values.config, '--config', USAGE), 'utf8')));
    if (model.kind !== 'stage_c' && model.kind !== 'stage_b') throw new Error(`sample needs a Stage C or Stage B config (got ${model.kind})`);
    if (!values.weights?.length) throw new UsageError('missing --weights', USAGE);
    const steps = number(values.steps, '--steps');
    if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`--steps must be a positive integer (got ${steps})`, USAGE);
    const cfg = number(values.cfg, '--cfg');
    const samplerName = oneOf(values.sampler, SAMPLERS, '--sampler', 'gdf', USAGE);
    const shift = number(values.shift, '--shift');
    const sampler: SamplerConfig = samplerName === 'gdf'
      ? { kind: 'gdf', shift, rho: number(values.rho, '--rho', 0.7), rMode: 'noiseCond', output: 'x0' }
      : {
          kind: 'kdiffusion', method: samplerName === 'lcm' ? 'lcm' : 'dpmpp_2m', shift,
          schedule: SIGMA_SCHEDULES[SCHEDULES.indexOf(oneOf(values.schedule, SCHEDULES, '--schedule', 'sgm-uniform', USAGE))],
        };
    if (samplerName === 'gdf' && values.schedule !== undefined) throw new UsageError('--schedule applies to dpmpp-2m and lcm only', USAGE);
    if (samplerName !== 'gdf' && values.rho !== undefined) throw new UsageError('--rho applies to gdf only', USAGE);
    const kdiffusion = sampler.kind === 'kdiffusion';
    const stageSampler = createStageSampler(sampler, steps, cfg);
    if (values.noise !== undefined && values.seed !== undefined) throw new UsageError('give --noise or --seed, not both', USAGE);
    if (values.noise === undefined && values.seed === undefined) throw new UsageError('give --noise F.safetensors or --seed N --shape B,C,H,W', USAGE);
    const backend = oneOf(values.backend, NODE_ENGINE_BACKENDS, '--backend', 'node', USAGE);
    const outPath = required(values.out, '--out', USAGE);
    const condFile = await SafetensorsFile.open(fileSource(required(values.cond, '--cond', USAGE)));

    // Noise: all draws in reference order (x_T, then one per step), read up front because the sampler's noise
    // callback is synchronous.
    let shape: number[];
    let draw: (s: readonly number[]) => Float32Array;
    if (values.noise !== undefined) {
      const noiseFile = await SafetensorsFile.open(fileSource(values.noise));
      shape = [...noiseFile.info('x_init').shape];
      if (values.shape !== undefined && values.shape.split(',').map(Number).join() !== shape.join()) {
        throw new UsageError(`--shape ${values.shape} differs from x_init [${shape}] in ${noiseFile.name}`, USAGE);
      }
      const draws = [await noiseFile.readFloat32('x_init')];
      for (let i = 0; i < steps; i++) {
        if (!stageSampler.drawsNoise(i)) continue;
        const name = `step${i}.noise`;
        if (!noiseFile.has(name)) throw new Error(`${noiseFile.name} has no ${name}: it records fewer draws than ${steps} steps of this sampler take`);
        draws.push(await noiseFile.readFloat32(name));
      }
      let next = 0;
      draw = (s) => {
        if (shapeNumel(s) !== draws[next].length) throw new Error(`noise draw ${next} has ${draws[next].length} values, the sampler asks for [${s}]`);
        return draws[next++];
      };
    } else {
      shape = required(values.shape, '--shape (with --seed)', USAGE).split(',').map(Number);
      if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw new UsageError(`--shape must be B,C,H,W (got ${values.shape})`, USAGE);
      let seed: bigint;
      try {
        seed = BigInt(values.seed!);
      } catch {
        throw new UsageError(`--seed must be an integer (got "${values.seed}")`, USAGE);
      }
      const generator = new TorchGenerator(seed);
      draw = (s) => generator.randn(s);
    }

    const engine = await createNodeEngine(backend);
    const io = MODEL_IO[model.kind];
    // Conditioning: every required input except x and r as a [cond; uncond] pair (the cond rows alone when the
    // sampler does not guide). The optional ones (clip_img,
    // sca, crp, pixels) become graph inputs only if the file has one of them; absent ones are zeros, as in the
    // official forward.
    const cond: Record<string, Tensor> = {};
    const { guided } = stageSampler;
    const rows = guided ? 2 * shape[0] : shape[0];
    const dims: Record<string, readonly number[]> = { x: [rows, ...shape.slice(1)] };
    for (const name of io.required.filter((n) => n !== 'x' && n !== 'r')) {
      const pair = await condPair(engine, condFile, name, guided);
      if (pair.dims[0] !== rows) throw new Error(`cond.${name} has batch ${guided ? pair.dims[0] / 2 : pair.dims[0]}, the latent [${shape}] has ${shape[0]}`);
      cond[name] = pair.tensor;
      dims[name] = pair.dims;
    }
    const conditionInputs = io.optional.some((o) => condFile.has(`cond.${o.name}`));
    if (conditionInputs) {
      for (const opt of io.optional) {
        if (condFile.has(`cond.${opt.name}`)) {
          cond[opt.name] = (await condPair(engine, condFile, opt.name, guided)).tensor;
        } else {
          const d = opt.defaultDims(dims, model);
          cond[opt.name] = engine.f32(new Float32Array(shapeNumel(d)), d);
        }
      }
    }

    const files = await Promise.all(values.weights.map((p) => SafetensorsFile.open(fileSource(p))));
    const net = buildModel(model, { conditionInputs, rFrequencies: values['r-freqs'] === undefined ? undefined : await readTensorSpec(values['r-freqs']) });
    const session = await engine.createSession(await compileInMemory(net, checkpointSource(files, model.kind)));
    const graphs = await loadSamplerGraphs(engine);

    const out: Record<string, TensorToWrite> = {};
    const f32 = (data: Float32Array, s: readonly number[]): TensorToWrite => ({ dtype: 'F32', shape: [...s], data });
    const read = async (t: Tensor) => (await engine.read(t)).data as Float32Array;
    const n = shapeNumel(shape);
    // k-diffusion names: step<I>.x is the state before the call (x_start, then the previous step's result).
    let before: Float32Array | undefined;
    const countedDraw = (s: readonly number[]): Float32Array => {
      const z = draw(s);
      if (kdiffusion && before === undefined) {
        before = stageSampler.startLatent(z);
        out.x_start = f32(before, shape);
      }
      return z;
    };
    if (kdiffusion) out.sigmas = f32(Float32Array.from({ length: steps + 1 }, (_, i) => stageSampler.level(i)), [steps + 1]);
    let calls = 0;
    const started = performance.now();
    const result = await sampleStageOnDevice({
      engine, graphs, sampler, steps, cfg, shape, noise: countedDraw,
      model: async (x, r) => {
        if (kdiffusion) out[`step${calls}.model_in`] = f32((await read(x)).slice(0, n), shape);
        calls++;
        return (await session.run({ x, r, ...cond })).output;
      },
      onStep: async ({ step, r, eps, x0, x }) => {
        out[`step${step}.model_out`] = f32(await read(eps), eps.dims);
        out[`step${step}.model_r`] = f32(new Float32Array(eps.dims[0]).fill(r), [eps.dims[0]]);
        if (kdiffusion) {
          out[`step${step}.denoised`] = f32(await read(x0), x0.dims);
          out[`step${step}.x`] = f32(before!, shape);
          before = await read(x);
        } else {
          out[`step${step}.x0`] = f32(await read(x0), x0.dims);
          out[`step${step}.x`] = f32(await read(x), x.dims);
        }
      },
    });
    out['final.sampled'] = f32(await read(result), result.dims);
    const ms = performance.now() - started;
    await releaseSamplerGraphs(graphs);
    await session.release();
    await writeFile(outPath, encodeSafetensors(out));
    const settings = sampler.kind === 'kdiffusion' ? `${samplerName} ${values.schedule ?? 'sgm-uniform'}` : `gdf rho ${values.rho ?? 0.7}`;
    console.log(
      `${model.kind} (${backend}): ${settings}, ${steps} steps, cfg ${cfg}, shift ${shift}, latent [${shape}] in ` +
        `${ms.toFixed(0)} ms; wrote ${Object.keys(out).length} tensors to ${outPath}`,
    );

    if (values.compare !== undefined) {
      // Worst relative difference per kind of tensor (model_out, x0, x, final) against a reference file.
      const ref = await SafetensorsFile.open(fileSource(values.compare));
      const worst = new Map<string, number>();
      for (const [name, t] of Object.entries(out)) {
        if (!ref.has(name)) continue;
        const key = name.replace(/^step\d+\./, '');
        worst.set(key, Math.max(worst.get(key) ?? 0, relMaxDiff(t.data as Float32Array, await ref.readFloat32(name))));
      }
      console.log(`max relative diff vs ${values.compare}: ${[...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    }
  },
};
