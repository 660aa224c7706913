/**
 * Golden trajectory parity: the official sampler driven on the engine (network graph + step graph), with the
 * tiny golden Stage C and Stage B models, against every recorded step of golden/sampling_stage_{c,b}.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from 'onnxruntime-common';
import { OrtEngine, type Backend, type OrtModule } from '../engine/ort-engine.ts';
import { parseStageBConfig, parseStageCConfig } from '../models/cascade-config.ts';
import { checkpointSource } from '../models/checkpoint-source.ts';
import { compileInMemory } from '../models/compile.ts';
import { buildStageB } from '../models/stage-b.ts';
import { buildStageC } from '../models/stage-c.ts';
import { buildStageADecoder, parseStageAConfig } from '../models/stage-a.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import type { SafetensorsFile } from '../weights/safetensors.ts';
import { loadSamplerGraphs, releaseSamplerGraphs, sampleStageOnDevice } from './device-sampler.ts';
import { samplerPreset } from './samplers/presets.ts';
import { TorchGenerator } from '../core/torch-generator.ts';

async function engineFor(backend: Exclude<Backend, 'webgpu'>): Promise<OrtEngine> {
  const ort = backend === 'node' ? await import('onnxruntime-node') : await import('onnxruntime-web');
  if (backend === 'wasm') (ort as unknown as { env: { wasm: { numThreads: number } } }).env.wasm.numThreads = 1;
  return new OrtEngine(ort as unknown as OrtModule, backend);
}

async function pairTensor(engine: OrtEngine, f: SafetensorsFile, name: string): Promise<Tensor> {
  const cond = await f.readFloat32(`cond.${name}`);
  const uncond = await f.readFloat32(`uncond.${name}`);
  const shape = [...f.info(`cond.${name}`).shape];
  const both = new Float32Array(cond.length * 2);
  both.set(cond);
  both.set(uncond, cond.length);
  return engine.f32(both, [shape[0] * 2, ...shape.slice(1)]);
}

type Recorded = Map<string, Float32Array>;

async function runStage(stage: 'c' | 'b', backend: 'node' | 'wasm', noiseFrom: 'recorded' | TorchGenerator, recorded: Recorded) {
  const engine = await engineFor(backend);
  const file = await openGolden(`sampling_stage_${stage}.safetensors`);
  const settings = (await readGoldenJson<Record<string, { cfg: number; timesteps: number; shape: number[] }>>('sampling.json'))[`stage_${stage}`];
  const net = stage === 'c'
    ? buildStageC(parseStageCConfig(await readGoldenJson('stage_c_config.json')))
    : buildStageB(parseStageBConfig(await readGoldenJson('stage_b_config.json')));
  const weights = checkpointSource([await openGolden(`stage_${stage}_weights.safetensors`)], stage === 'c' ? 'stage_c' : 'stage_b');
  const session = await engine.createSession(await compileInMemory(net, weights));
  const cond: Record<string, Tensor> = stage === 'c'
    ? { clip_text: await pairTensor(engine, file, 'clip_text'), clip_text_pooled: await pairTensor(engine, file, 'clip_text_pooled') }
    : { effnet: await pairTensor(engine, file, 'effnet'), clip: await pairTensor(engine, file, 'clip') };
  const graphs = await loadSamplerGraphs(engine);
  let draw = 0;
  const noise = async (i: number) => (i === 0 ? file.readFloat32('x_init') : file.readFloat32(`step${i - 1}.noise`));
  const recordedNoise: Float32Array[] = [];
  for (let i = 0; i <= settings.timesteps; i++) recordedNoise.push(await noise(i));
  const worst = { model_out: 0, x0: 0, x: 0, noise: 0 };
  const result = await sampleStageOnDevice({
    engine, graphs, sampler: samplerPreset('official', stage === 'c' ? 'stageC' : 'stageB'),
    steps: settings.timesteps, cfg: settings.cfg, shape: settings.shape,
    noise: (shape) => {
      const z = noiseFrom === 'recorded' ? recordedNoise[draw] : noiseFrom.randn(shape);
      worst.noise = Math.max(worst.noise, relMaxDiff(z, recordedNoise[draw]));
      draw++;
      return z;
    },
    model: async (x, r) => (await session.run({ x, r, ...cond })).output,
    onStep: async ({ step, eps, x0, x }) => {
      for (const [key, t] of [['model_out', eps], ['x0', x0], ['x', x]] as const) {
        const got = (await engine.read(t)).data as Float32Array;
        worst[key] = Math.max(worst[key], relMaxDiff(got, await file.readFloat32(`step${step}.${key}`)));
      }
    },
  });
  const final = (await engine.read(result)).data as Float32Array;
  recorded.set(`${stage}.final`, final);
  const finalRel = relMaxDiff(final, await file.readFloat32('final.sampled'));
  await releaseSamplerGraphs(graphs);
  await session.release();
  return { worst, finalRel };
}

describe('official sampler on the engine vs golden trajectories', () => {
  for (const backend of ['node', 'wasm'] as const) {
    for (const stage of ['c', 'b'] as const) {
      const golden = needsGolden(`sampling_stage_${stage}.safetensors`, 'sampling.json', `stage_${stage}_config.json`, `stage_${stage}_weights.safetensors`);
      it(`Stage ${stage.toUpperCase()} on ${backend}, recorded noise`, golden, async () => {
        const { worst, finalRel } = await runStage(stage, backend, 'recorded', new Map());
        console.log(`stage ${stage} ${backend} recorded: model_out ${worst.model_out.toExponential(1)} x0 ${worst.x0.toExponential(1)} x ${worst.x.toExponential(1)} final ${finalRel.toExponential(1)}`);
        for (const v of [worst.model_out, worst.x0, worst.x, finalRel]) expect(v).toBeLessThanOrEqual(1e-4);
      });
    }
  }

  const golden = needsGolden(
    'sampling.json', 'sampling_stage_c.safetensors', 'sampling_stage_b.safetensors', 'stage_c_config.json', 'stage_c_weights.safetensors',
    'stage_b_config.json', 'stage_b_weights.safetensors', 'stage_a_config.json', 'stage_a_weights.safetensors',
  );
  it('Stage C then Stage B from one generator seeded 1030 (node)', golden, async () => {
    const generator = new TorchGenerator(1030);
    const recorded: Recorded = new Map();
    for (const stage of ['c', 'b'] as const) {
      const { worst, finalRel } = await runStage(stage, 'node', generator, recorded);
      console.log(`stage ${stage} seeded: noise ${worst.noise.toExponential(1)} x ${worst.x.toExponential(1)} final ${finalRel.toExponential(1)}`);
      expect(worst.noise).toBeLessThanOrEqual(1e-6);
      for (const v of [worst.model_out, worst.x0, worst.x, finalRel]) expect(v).toBeLessThanOrEqual(1e-4);
    }
    // …and Stage A decodes the Stage B result into final.stage_a_decoded.
    const engine = await engineFor('node');
    const stageA = buildStageADecoder(parseStageAConfig(await readGoldenJson('stage_a_config.json')));
    const session = await engine.createSession(await compileInMemory(stageA, checkpointSource([await openGolden('stage_a_weights.safetensors')], 'stage_a')));
    const shape = (await readGoldenJson<{ stage_b: { shape: number[] } }>('sampling.json')).stage_b.shape;
    const decoded = (await session.run({ latents: engine.f32(recorded.get('b.final')!, shape) })).decoded;
    const ref = await (await openGolden('sampling_stage_b.safetensors')).readFloat32('final.stage_a_decoded');
    const rel = relMaxDiff((await engine.read(decoded)).data as Float32Array, ref);
    console.log(`stage A decode of the seeded trajectory: ${rel.toExponential(1)}`);
    expect(rel).toBeLessThanOrEqual(1e-4);
    await session.release();
  });
});
