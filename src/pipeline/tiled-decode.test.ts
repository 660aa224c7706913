import type { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import { OrtEngine, type OrtModule } from '../engine/ort-engine.ts';
import { checkpointSource } from '../models/checkpoint-source.ts';
import { compileInMemory } from '../models/compile.ts';
import { DEMO_COMPONENTS, randomWeightSource } from '../models/demo-model.ts';
import { buildStageADecoder, parseStageAConfig, STAGE_A_PRESET, type StageAConfig } from '../models/stage-a.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { TorchGenerator } from '../core/torch-generator.ts';
import { planStageATiles, stageALargestTensorBytes, stageAReceptiveRadius, StageADecoder, tileSpans, type StageATiling } from './tiled-decode.ts';

const DEMO_STAGE_A = DEMO_COMPONENTS.find((c) => c.kind === 'stage_a')!.config as StageAConfig;

async function nodeEngine(): Promise<OrtEngine> {
  return new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');
}

async function wasmEngine(): Promise<OrtEngine> {
  const ort = (await import('onnxruntime-web')) as unknown as OrtModule & { env: { wasm: { numThreads: number } } };
  ort.env.wasm.numThreads = 1;
  return new OrtEngine(ort, 'wasm');
}

/** Decodes `latents` untiled and tiled with the same session; returns max|tiled−untiled|/max|untiled|. */
async function tiledVsUntiled(engine: OrtEngine, config: StageAConfig, weightsSeed: number | 'golden', latents: Tensor, tiling: StageATiling) {
  const ctx = buildStageADecoder(config);
  const weights = weightsSeed === 'golden'
    ? checkpointSource([await openGolden('stage_a_weights.safetensors')], 'stage_a')
    : randomWeightSource(ctx.expected, weightsSeed);
  const net = await engine.createSession(await compileInMemory(ctx, weights));
  const plain = await new StageADecoder(engine, config).decode(net, latents);
  const tiler = new StageADecoder(engine, config, tiling);
  const logs: string[] = [];
  const tiled = await tiler.decode(net, latents, (e) => void (e.type === 'log' && logs.push(e.message)));
  await tiler.release();
  await net.release();
  expect(tiled.dims).toEqual(plain.dims);
  const rel = relMaxDiff((await engine.read(tiled)).data as Float32Array, (await engine.read(plain)).data as Float32Array);
  return { rel, logs, dims: [...plain.dims] };
}

function randomLatents(engine: OrtEngine, dims: number[], seed: number): Tensor {
  return engine.f32(new TorchGenerator(seed).randn(dims), dims);
}

describe('tile planning', () => {
  it('computes the receptive radius: released 13.5 latent px (spec §9.3), demo 3.5', () => {
    expect(stageAReceptiveRadius(STAGE_A_PRESET.kwargs)).toBe(13.5);
    expect(stageAReceptiveRadius(DEMO_STAGE_A.kwargs)).toBe(3.5);
  });

  it('splits an axis into balanced cores covering it exactly, windows clipped to the latent', () => {
    const spans = tileSpans(64, 20, 16);
    expect(spans.map((s) => s.core)).toEqual([[0, 16], [16, 32], [32, 48], [48, 64]]);
    expect(spans.map((s) => s.window)).toEqual([[0, 32], [0, 48], [16, 64], [32, 64]]);
  });

  it('tiles only when forced or when the untiled decode exceeds the binding limit, and refuses a short overlap', () => {
    const released = STAGE_A_PRESET;
    // 1024² → 256² latent: the top-level MLP hidden is 768 × 512² floats = 805 MB (spec §9.3: 604 MB fp16 at 1024×1536).
    expect(stageALargestTensorBytes(released, 256, 256, 1)).toBe(768 * 512 * 512 * 4);
    expect(planStageATiles(released, 256, 256, 1)).toBeUndefined();
    expect(planStageATiles(released, 256, 256, 1, { maxBindingBytes: 1 << 30 })).toBeUndefined();
    const plan = planStageATiles(released, 256, 256, 1, { maxBindingBytes: 128 * 1024 * 1024 })!;
    expect(plan.overlap).toBe(16);
    // Every window fits the limit.
    for (const r of plan.rows) for (const c of plan.cols) {
      expect(stageALargestTensorBytes(released, r.window[1] - r.window[0], c.window[1] - c.window[0], 1)).toBeLessThanOrEqual(128 * 1024 * 1024);
    }
    console.log(`released 1024² under 128 MiB bindings: ${plan.rows.length}×${plan.cols.length} tiles, core ≤ ${plan.tileSize}`);
    expect(() => planStageATiles(released, 256, 256, 1, { tileSize: 64, overlap: 13 })).toThrow(RangeError);
    expect(planStageATiles(released, 64, 64, 1, { tileSize: 64 })).toBeUndefined(); // one tile = untiled
  });
});

describe('tiled Stage A decode equals the untiled decode', () => {
  it('demo Stage A on node, 4×3 tiles of ≤ 16 latent px (overlap 16)', async () => {
    const engine = await nodeEngine();
    const r = await tiledVsUntiled(engine, DEMO_STAGE_A, 7, randomLatents(engine, [2, 4, 64, 48], 1), { tileSize: 16 });
    console.log(`demo stage A tiled vs untiled (node, ${r.dims}): ${r.rel.toExponential(2)}; ${r.logs[0]}`);
    expect(r.logs[0]).toMatch(/4×3 tiles/);
    expect(r.rel).toBeLessThanOrEqual(1e-5);
  });

  it('demo Stage A on wasm with the tightest exact overlap (⌈3.5⌉ = 4) and odd tiles', async () => {
    const engine = await wasmEngine();
    const r = await tiledVsUntiled(engine, DEMO_STAGE_A, 7, randomLatents(engine, [1, 4, 40, 34], 2), { tileSize: 7, overlap: 4 });
    console.log(`demo stage A tiled vs untiled (wasm, overlap 4): ${r.rel.toExponential(2)}; ${r.logs[0]}`);
    expect(r.rel).toBeLessThanOrEqual(1e-5);
  });

  it('golden Stage A weights on node', needsGolden('stage_a_config.json', 'stage_a_weights.safetensors'), async () => {
    const config = parseStageAConfig(await readGoldenJson('stage_a_config.json'));
    const engine = await nodeEngine();
    const r = await tiledVsUntiled(engine, config, 'golden', randomLatents(engine, [1, 4, 64, 80], 3), { tileSize: 16 });
    console.log(`golden stage A tiled vs untiled (node): ${r.rel.toExponential(2)}; ${r.logs[0]}`);
    expect(r.rel).toBeLessThanOrEqual(1e-5);
  });

  it('the released architecture (12 bottleneck blocks, random weights) with overlap 14 ≥ 13.5', async () => {
    const engine = await nodeEngine();
    const r = await tiledVsUntiled(engine, STAGE_A_PRESET, 11, randomLatents(engine, [1, 4, 48, 40], 4), { tileSize: 16, overlap: 14 });
    console.log(`released-architecture stage A tiled vs untiled (node, overlap 14): ${r.rel.toExponential(2)}; ${r.logs[0]}`);
    expect(r.rel).toBeLessThanOrEqual(1e-5);
  });
});

describe('TextToImagePipeline with stageATiling', () => {
  it('gives the same 8-bit image tiled (8-px cores) as untiled, still with one read-back', async () => {
    const { writeDemoModel } = await import('../models/demo-model.ts');
    const { memoryPackageReader } = await import('./package-reader.ts');
    const { TextToImagePipeline } = await import('./text-to-image.ts');
    const files = new Map<string, Uint8Array>();
    await writeDemoModel({ write: async (path, bytes) => void files.set(path, bytes) });
    const request = { prompt: 'a cat', width: 256, height: 192, seed: 5, stageC: { steps: 2, cfg: 4 }, stageB: { steps: 2, cfg: 1.1 } };
    const generate = async (stageATiling?: StageATiling) => {
      const pipeline = await TextToImagePipeline.load(await nodeEngine(), memoryPackageReader('demo', files), { stageATiling });
      const logs: string[] = [];
      const out = await pipeline.generate(request, { onEvent: (e) => void (e.type === 'log' && logs.push(e.message)) });
      await pipeline.release();
      return { out, logs };
    };
    const plain = await generate();
    const tiled = await generate({ tileSize: 8 });
    expect(plain.logs).toEqual([]);
    expect(tiled.logs[0]).toMatch(/48×64 latents in 6×8 tiles/);
    expect(tiled.out.readbacks).toBe(1);
    expect(Buffer.from(tiled.out.images[0].rgb).equals(Buffer.from(plain.out.images[0].rgb))).toBe(true);
  });
});
