/**
 * `sample`: one stage's official gdf sampling loop (Stage C or Stage B) from a config + weights, with the
 * conditioning pairs and (optionally) the recorded noise of a golden sampling file, writing every step's tensors
 * under the golden names — the way to check a trajectory against PyTorch outside the test suite.
 *
 * Inputs (names exactly as in golden/sampling_stage_{c,b}.safetensors):
 * - --cond: `cond.<input>` and `uncond.<input>` for every conditioning input of the network (Stage C:
 *   clip_text [B,Lt,Ct], clip_text_pooled [B,1,Ct], optional clip_img [B,1,Ci]; Stage B: effnet [B,16,He,We],
 *   clip [B,1,Ct]). The CFG batch is [cond rows; uncond rows], paired by position (spec §1.4).
 * - --noise: `x_init` [B,C,H,W] and `step<I>.noise` [B,C,H,W] for I = 0 … steps−1, consumed in the draw order of
 *   the reference (x_T, then one per step including the last); or --seed: a TorchGenerator seeded once, drawing
 *   the same sequence, with the latent shape from --shape.
 * Outputs: `step<I>.model_out` [2B,C,H,W] (the network's raw ε for the CFG pair), `step<I>.model_r` [2B],
 * `step<I>.x0` and `step<I>.x` [B,C,H,W], and `final.sampled` [B,C,H,W] (the last x0, as the notebook passes on).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Tensor } from 'onnxruntime-common';
import { createNodeEngine, NODE_ENGINE_BACKENDS } from '../../engine/node-engine.ts';
import type { OrtEngine } from '../../engine/ort-engine.ts';
import { checkpointSource } from '../../models/checkpoint-source.ts';
import { compileInMemory } from '../../models/compile.ts';
import { buildModel, MODEL_IO, parseModelConfig } from '../../models/registry.ts';
import { loadSamplerGraphs, releaseSamplerGraphs, sampleStageOnDevice } from '../../pipeline/device-sampler.ts';
import type { GdfSamplerConfig } from '../../pipeline/samplers/presets.ts';
import { shapeNumel, TorchGenerator } from '../../core/torch-generator.ts';
import { relMaxDiff } from '../../testing/golden.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { SafetensorsFile } from '../../weights/safetensors.ts';
import { encodeSafetensors, type TensorToWrite } from '../../weights/safetensors-writer.ts';
import { oneOf, parseCli, required, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE =
  'npm run cli -- sample --config C.json --weights W.safetensors [--weights W2 …] --cond F.safetensors --steps N --cfg W ' +
  '--shift S [--rho 0.7] [--noise F.safetensors | --seed N --shape B,C,H,W] --out O.safetensors [--backend node|wasm] ' +
  '[--compare REF.safetensors]';

function number(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`missing ${flag}`, USAGE);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got "${value}")`, USAGE);
  return n;
}

/** [cond rows; uncond rows] of one conditioning input: [2B, …] from two [B, …] tensors. */
async function condPair(engine: OrtEngine, file: SafetensorsFile, name: string): Promise<{ tensor: Tensor; dims: number[] }> {
  for (const half of ['cond', 'uncond']) {
    if (!file.has(`${half}.${name}`)) throw new Error(`${file.name} lacks ${half}.${name}`);
  }
  const shape = [...file.info(`cond.${name}`).shape];
  const uncondShape = file.info(`uncond.${name}`).shape;
  if (uncondShape.join() !== shape.join()) {
    throw new Error(`${file.name}: cond.${name} is [${shape}] but uncond.${name} is [${uncondShape}]`);
  }
  const cond = await file.readFloat32(`cond.${name}`);
  const both = new Float32Array(cond.length * 2);
  both.set(cond);
  both.set(await file.readFloat32(`uncond.${name}`), cond.length);
  const dims = [shape[0] * 2, ...shape.slice(1)];
  return { tensor: engine.f32(both, dims), dims };
}

export const command: CliCommand = {
  summary: 'run the official gdf sampler for one Stage C/B from config + weights + cond/uncond (+ recorded noise)',
  async run(argv) {
    const { values } = parseCli(argv, {
      config: { type: 'string' },
      weights: { type: 'string', multiple: true },
      cond: { type: 'string' },
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
    }, USAGE);
    const model = parseModelConfig(JSON.parse(await readFile(required(values.config, '--config', USAGE), 'utf8')));
    if (model.kind !== 'stage_c' && model.kind !== 'stage_b') throw new Error(`sample needs a Stage C or Stage B config (got ${model.kind})`);
    if (!values.weights?.length) throw new UsageError('missing --weights', USAGE);
    const steps = number(values.steps, '--steps');
    if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`--steps must be a positive integer (got ${steps})`, USAGE);
    const cfg = number(values.cfg, '--cfg');
    const sampler: GdfSamplerConfig = {
      kind: 'gdf', shift: number(values.shift, '--shift'), rho: number(values.rho, '--rho', 0.7), rMode: 'noiseCond', output: 'x0',
    };
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
        const name = `step${i}.noise`;
        if (!noiseFile.has(name)) throw new Error(`${noiseFile.name} has no ${name}: it records fewer than ${steps} steps`);
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
    // Conditioning: every required input except x and r as a [cond; uncond] pair. The optional ones (clip_img,
    // sca, crp, pixels) become graph inputs only if the file has one of them; absent ones are zeros, as in the
    // official forward.
    const cond: Record<string, Tensor> = {};
    const dims: Record<string, readonly number[]> = { x: [2 * shape[0], ...shape.slice(1)] };
    for (const name of io.required.filter((n) => n !== 'x' && n !== 'r')) {
      const pair = await condPair(engine, condFile, name);
      if (pair.dims[0] !== 2 * shape[0]) throw new Error(`cond.${name} has batch ${pair.dims[0] / 2}, the latent [${shape}] has ${shape[0]}`);
      cond[name] = pair.tensor;
      dims[name] = pair.dims;
    }
    const conditionInputs = io.optional.some((o) => condFile.has(`cond.${o.name}`));
    if (conditionInputs) {
      for (const opt of io.optional) {
        if (condFile.has(`cond.${opt.name}`)) {
          cond[opt.name] = (await condPair(engine, condFile, opt.name)).tensor;
        } else {
          const d = opt.defaultDims(dims, model);
          cond[opt.name] = engine.f32(new Float32Array(shapeNumel(d)), d);
        }
      }
    }

    const files = await Promise.all(values.weights.map((p) => SafetensorsFile.open(fileSource(p))));
    const net = buildModel(model, { conditionInputs });
    const session = await engine.createSession(await compileInMemory(net, checkpointSource(files, model.kind)));
    const graphs = await loadSamplerGraphs(engine);

    const out: Record<string, TensorToWrite> = {};
    const f32 = (data: Float32Array, s: readonly number[]): TensorToWrite => ({ dtype: 'F32', shape: [...s], data });
    const started = performance.now();
    const result = await sampleStageOnDevice({
      engine, graphs, sampler, steps, cfg, shape, noise: draw,
      model: async (x, r) => (await session.run({ x, r, ...cond })).output,
      onStep: async ({ step, r, eps, x0, x }) => {
        out[`step${step}.model_out`] = f32((await engine.read(eps)).data as Float32Array, eps.dims);
        out[`step${step}.model_r`] = f32(new Float32Array(eps.dims[0]).fill(r), [eps.dims[0]]);
        out[`step${step}.x0`] = f32((await engine.read(x0)).data as Float32Array, x0.dims);
        out[`step${step}.x`] = f32((await engine.read(x)).data as Float32Array, x.dims);
      },
    });
    out['final.sampled'] = f32((await engine.read(result)).data as Float32Array, result.dims);
    const ms = performance.now() - started;
    await releaseSamplerGraphs(graphs);
    await session.release();
    await writeFile(outPath, encodeSafetensors(out));
    console.log(
      `${model.kind} (${backend}): ${steps} steps, cfg ${cfg}, shift ${sampler.shift}, rho ${sampler.rho}, latent [${shape}] in ` +
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
