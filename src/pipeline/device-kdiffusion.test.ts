/**
 * The k-diffusion samplers on the engine (network graph + k-diffusion step graph, latents kept in the engine)
 * against the host replay (samplers/sample-stage.ts driving the same network through host arrays), with the tiny
 * golden Stage C / Stage B networks, on onnxruntime-node and on WASM: the same draws, the same r per call, and
 * every step's denoised and x within 1e-5 relative to max-abs. Covers guided and CFG-1 (cond half only) runs and
 * all four σ schedules.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from 'onnxruntime-common';
import { TorchGenerator } from '../core/torch-generator.ts';
import { createNodeEngine } from '../engine/node-engine.ts';
import type { OrtEngine } from '../engine/ort-engine.ts';
import { parseStageBConfig, parseStageCConfig } from '../models/cascade-config.ts';
import { checkpointSource } from '../models/checkpoint-source.ts';
import { compileInMemory } from '../models/compile.ts';
import { buildStageB } from '../models/stage-b.ts';
import { buildStageC } from '../models/stage-c.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import type { SafetensorsFile } from '../weights/safetensors.ts';
import { loadSamplerGraphs, releaseSamplerGraphs, sampleStageOnDevice } from './device-sampler.ts';
import type { KDiffusionSamplerConfig } from './samplers/presets.ts';
import { sampleStage } from './samplers/sample-stage.ts';

interface Case {
  stage: 'c' | 'b';
  sampler: KDiffusionSamplerConfig;
  cfg: number;
}

const CASES: Case[] = [
  { stage: 'c', sampler: { kind: 'kdiffusion', method: 'dpmpp_2m', schedule: 'sgm_uniform', shift: 2 }, cfg: 6 },
  { stage: 'c', sampler: { kind: 'kdiffusion', method: 'dpmpp_2m', schedule: 'karras', shift: 2 }, cfg: 1 },
  { stage: 'b', sampler: { kind: 'kdiffusion', method: 'lcm', schedule: 'exponential', shift: 1 }, cfg: 1 },
  { stage: 'b', sampler: { kind: 'kdiffusion', method: 'lcm', schedule: 'normal', shift: 1 }, cfg: 1.5 },
];
const STEPS = 4;

/** The conditioning inputs: [cond; uncond] rows when guided, the cond rows alone otherwise. */
async function conditioning(engine: OrtEngine, f: SafetensorsFile, names: string[], guided: boolean): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  for (const name of names) {
    const cond = await f.readFloat32(`cond.${name}`);
    const shape = [...f.info(`cond.${name}`).shape];
    if (!guided) {
      out[name] = engine.f32(cond, shape);
      continue;
    }
    const both = new Float32Array(cond.length * 2);
    both.set(cond);
    both.set(await f.readFloat32(`uncond.${name}`), cond.length);
    out[name] = engine.f32(both, [shape[0] * 2, ...shape.slice(1)]);
  }
  return out;
}

describe('k-diffusion samplers: device loop agrees with the host replay', () => {
  for (const backend of ['node', 'wasm'] as const) {
    for (const c of CASES) {
      const file = `sampling_comfy_stage_${c.stage}.safetensors`;
      const label = `Stage ${c.stage.toUpperCase()} ${c.sampler.method} ${c.sampler.schedule} cfg ${c.cfg} on ${backend}`;
      it(label, needsGolden(file, `stage_${c.stage}_config.json`, `stage_${c.stage}_weights.safetensors`), async () => {
        const engine = await createNodeEngine(backend);
        const golden = await openGolden(file);
        const shape = [...golden.info('x_init').shape];
        const net = c.stage === 'c'
          ? buildStageC(parseStageCConfig(await readGoldenJson('stage_c_config.json')))
          : buildStageB(parseStageBConfig(await readGoldenJson('stage_b_config.json')));
        const session = await engine.createSession(await compileInMemory(net, checkpointSource([await openGolden(`stage_${c.stage}_weights.safetensors`)], c.stage === 'c' ? 'stage_c' : 'stage_b')));
        const guided = c.cfg !== 1;
        const cond = await conditioning(engine, golden, c.stage === 'c' ? ['clip_text', 'clip_text_pooled'] : ['effnet', 'clip'], guided);
        const rows = guided ? 2 * shape[0] : shape[0];

        const host = { x0: [] as Float32Array[], x: [] as Float32Array[], r: [] as number[], draws: 0 };
        const hostGen = new TorchGenerator(7);
        const hostOut = await sampleStage({
          shape, steps: STEPS, cfg: c.cfg, sampler: c.sampler,
          noise: (s) => {
            host.draws++;
            return hostGen.randn(s);
          },
          model: async (call) => {
            expect(call.guided).toBe(guided);
            host.r.push(call.r[0]);
            const out = await session.run({ x: engine.f32(call.x, [...call.shape]), r: engine.f32(call.r, [rows]), ...cond });
            return (await engine.read(out.output)).data as Float32Array;
          },
          onStep: (s) => {
            host.x0.push(s.x0);
            host.x.push(s.x);
          },
        });

        const graphs = await loadSamplerGraphs(engine);
        const deviceGen = new TorchGenerator(7);
        let draws = 0;
        const worst = { x0: 0, x: 0 };
        const r: number[] = [];
        const result = await sampleStageOnDevice({
          engine, graphs, sampler: c.sampler, steps: STEPS, cfg: c.cfg, shape,
          noise: (s) => {
            draws++;
            return deviceGen.randn(s);
          },
          model: async (x, rt) => {
            expect(x.dims[0]).toBe(rows);
            return (await session.run({ x, r: rt, ...cond })).output;
          },
          onStep: async ({ step, r: ri, x0, x }) => {
            r.push(ri);
            worst.x0 = Math.max(worst.x0, relMaxDiff((await engine.read(x0)).data as Float32Array, host.x0[step]));
            worst.x = Math.max(worst.x, relMaxDiff((await engine.read(x)).data as Float32Array, host.x[step]));
          },
        });
        const final = relMaxDiff((await engine.read(result)).data as Float32Array, hostOut.result);
        console.log(`${label}: draws ${draws}, denoised ${worst.x0.toExponential(1)}, x ${worst.x.toExponential(1)}, final ${final.toExponential(1)}`);
        expect(draws).toBe(host.draws);
        expect(draws).toBe(c.sampler.method === 'lcm' ? STEPS : 1); // start draw (+ one per LCM step but the last)
        expect(r).toEqual(host.r);
        for (const v of [worst.x0, worst.x, final]) expect(v).toBeLessThanOrEqual(1e-5);
        await releaseSamplerGraphs(graphs);
        await session.release();
      });
    }
  }
});
