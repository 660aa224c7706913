/**
 * Stage C live preview: the preview graph on onnxruntime-node against a plain TypeScript version of the same
 * math, and the pipeline's preview events and read-back count on the demo model.
 */
import { describe, expect, it } from 'vitest';
import { OrtEngine, type OrtModule } from '../engine/ort-engine.ts';
import { writeDemoModel } from '../models/demo-model.ts';
import { compileWeightless } from '../models/pipeline-graphs.ts';
import { buildLatentPreviewGraph, PREVIEW_CHANNELS, PREVIEW_EPS, PREVIEW_PROJECTION, PREVIEW_SIGMAS } from '../models/preview-graph.ts';
import type { PipelineEvent } from './events.ts';
import { latentSizes } from '../models/latent-size.ts';
import { memoryPackageReader } from './package-reader.ts';
import { isPreviewStep, LatentPreviewer } from './preview.ts';
import { TextToImagePipeline, type GenerationRequest } from './text-to-image.ts';
import { TorchGenerator } from '../core/torch-generator.ts';

const nodeEngine = async () => new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');

/** numpy's round (half to even). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The documented math of preview-graph.ts, in float64, straight from the formula. */
function previewReference(x: Float32Array, [B, C, H, W]: number[]): Uint8Array {
  const out = new Uint8Array(B * H * W * 3);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < 3; c++) {
      const p = new Float64Array(H * W);
      for (let i = 0; i < H * W; i++) {
        for (let k = 0; k < C; k++) p[i] += PREVIEW_PROJECTION[c][k] * x[(b * C + k) * H * W + i];
      }
      const mean = p.reduce((a, v) => a + v, 0) / p.length;
      const std = Math.sqrt(p.reduce((a, v) => a + (v - mean) ** 2, 0) / p.length);
      for (let i = 0; i < H * W; i++) {
        const t = Math.min(1, Math.max(0, (p[i] - mean) / (2 * PREVIEW_SIGMAS * std + PREVIEW_EPS) + 0.5));
        out[(b * H * W + i) * 3 + c] = roundHalfEven(t * 255);
      }
    }
  }
  return out;
}

describe('Stage C preview graph', () => {
  it('has orthonormal projection rows', () => {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const dot = PREVIEW_PROJECTION[i].reduce((a, v, k) => a + v * PREVIEW_PROJECTION[j][k], 0);
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });

  it('matches the TypeScript reference on random latents (≤ 1 level, nearly all exact)', async () => {
    const engine = await nodeEngine();
    const previewer = await LatentPreviewer.create(engine);
    const gen = new TorchGenerator(7);
    for (const shape of [[1, PREVIEW_CHANNELS, 24, 24], [2, PREVIEW_CHANNELS, 9, 6], [3, PREVIEW_CHANNELS, 36, 24]]) {
      // Per-channel offsets and scales like a real latent's, so normalization has work to do.
      const x = gen.randn(shape).map((v, i) => v * (1 + (Math.floor(i / (shape[2] * shape[3])) % 5)) + (i % 7) - 3);
      const got = await previewer.render(engine.f32(x, shape));
      expect([got.width, got.height, got.rgb.length]).toEqual([shape[3], shape[2], shape[0] * shape[2] * shape[3] * 3]);
      const ref = previewReference(x, shape);
      let exact = 0;
      let worst = 0;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(got.rgb[i] - ref[i]);
        worst = Math.max(worst, d);
        if (d === 0) exact++;
      }
      expect(worst).toBeLessThanOrEqual(1);
      expect(exact / ref.length).toBeGreaterThan(0.99);
      // ±2σ spans the range: both ends are hit, and the middle is well used.
      expect(Math.min(...got.rgb)).toBe(0);
      expect(Math.max(...got.rgb)).toBe(255);
      expect(new Set(got.rgb).size).toBeGreaterThan(100);
    }
    await previewer.release();
  });

  it('normalizes each image on its own and maps a constant latent to mid-grey', async () => {
    const engine = await nodeEngine();
    const previewer = await LatentPreviewer.create(engine);
    const shape = [2, PREVIEW_CHANNELS, 4, 5];
    const per = PREVIEW_CHANNELS * 4 * 5;
    const a = new TorchGenerator(3).randn([1, PREVIEW_CHANNELS, 4, 5]);
    const x = new Float32Array(2 * per);
    x.set(a);
    x.set(a.map((v) => 1000 * v + 50), per); // same pattern, other scale and offset → same preview
    const got = await previewer.render(engine.f32(x, shape));
    const img = got.width * got.height * 3;
    for (let i = 0; i < img; i++) expect(Math.abs(got.rgb[i] - got.rgb[img + i])).toBeLessThanOrEqual(1);
    const flat = await previewer.render(engine.f32(new Float32Array(per).fill(3.25), [1, PREVIEW_CHANNELS, 4, 5]));
    expect(new Set(flat.rgb)).toEqual(new Set([128]));
    await previewer.release();
  });

  it('builds deterministic bytes', async () => {
    const a = await compileWeightless(buildLatentPreviewGraph());
    const b = await compileWeightless(buildLatentPreviewGraph());
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
  });

  it('picks steps every, 2·every, … and the last', () => {
    const pick = (steps: number, every: number) => Array.from({ length: steps }, (_, i) => i + 1).filter((s) => isPreviewStep(s, steps, every));
    expect(pick(5, 1)).toEqual([1, 2, 3, 4, 5]);
    expect(pick(5, 2)).toEqual([2, 4, 5]);
    expect(pick(3, 10)).toEqual([3]);
  });
});

async function demoPackage() {
  const files = new Map<string, Uint8Array>();
  await writeDemoModel({ write: async (path, bytes) => void files.set(path, bytes) });
  return memoryPackageReader('demo', files);
}

const request: GenerationRequest = {
  prompt: 'newest, extremely aesthetic, best quality, 1girl, solo',
  negativePrompt: 'worst quality',
  width: 256,
  height: 384,
  numImages: 2,
  seed: 1234,
  stageC: { steps: 4, cfg: 4 },
  stageB: { steps: 2, cfg: 1.1 },
};

type PreviewEvent = Extract<PipelineEvent, { type: 'preview' }>;

describe('Stage C preview in the pipeline (demo model)', () => {
  it('emits nothing and reads back once without preview; one event and one read-back per step with every = 1', async () => {
    const engine = await nodeEngine();
    const pipeline = await TextToImagePipeline.load(engine, await demoPackage());
    const collect = () => {
      const all: PipelineEvent[] = [];
      return { all, onEvent: (e: PipelineEvent) => void all.push(e) };
    };

    const off = collect();
    const plain = await pipeline.generate(request, { onEvent: off.onEvent });
    expect(off.all.filter((e) => e.type === 'preview')).toHaveLength(0);
    expect(plain.readbacks).toBe(1);

    const on = collect();
    const withPreview = await pipeline.generate({ ...request, preview: { every: 1 } }, { onEvent: on.onEvent });
    const previews = on.all.filter((e): e is PreviewEvent => e.type === 'preview');
    const N = request.stageC.steps;
    const [h, w] = latentSizes(request.width, request.height).stageC;
    expect([h, w]).toEqual([9, 6]);
    expect(previews.map((p) => p.step)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    for (const p of previews) {
      expect([p.stage, p.width, p.height, p.rgb.length]).toEqual(['prior', w, h, w * h * 3 * request.numImages!]);
      expect(new Set(p.rgb).size).toBeGreaterThan(16);
      // Each image of the batch is normalized on its own and the two differ.
      const per = w * h * 3;
      expect(Buffer.from(p.rgb.subarray(0, per)).equals(Buffer.from(p.rgb.subarray(per)))).toBe(false);
    }
    // Each preview follows its step's progress event.
    const order = on.all.filter((e) => (e.type === 'step' && e.stage === 'prior') || e.type === 'preview').map((e) => `${e.type}:${'step' in e ? e.step : ''}`);
    expect(order).toEqual(Array.from({ length: N }, (_, i) => [`step:${i + 1}`, `preview:${i + 1}`]).flat());
    // The estimate changes as sampling proceeds.
    expect(Buffer.from(previews[0].rgb).equals(Buffer.from(previews[N - 1].rgb))).toBe(false);
    expect(withPreview.readbacks).toBe(1 + N);
    // Previewing reads the x0 estimate only: the images are the same bytes.
    for (let i = 0; i < plain.images.length; i++) expect(Buffer.from(withPreview.images[i].rgb).equals(Buffer.from(plain.images[i].rgb))).toBe(true);

    const sparse = collect();
    const every3 = await pipeline.generate({ ...request, numImages: 1, preview: { every: 3 } }, { onEvent: sparse.onEvent });
    expect(sparse.all.filter((e): e is PreviewEvent => e.type === 'preview').map((p) => [p.step, p.rgb.length])).toEqual([[3, w * h * 3], [4, w * h * 3]]);
    expect(every3.readbacks).toBe(1 + 2);

    await expect(pipeline.generate({ ...request, preview: { every: 0 } })).rejects.toThrow(RangeError);
    await pipeline.release();
  });
});
