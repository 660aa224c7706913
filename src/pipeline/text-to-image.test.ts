import { describe, expect, it } from 'vitest';
import { OrtEngine, type OrtModule } from '../engine/ort-engine.ts';
import { writeDemoModel } from '../models/demo-model.ts';
import { memoryPackageReader } from './package-reader.ts';
import { TextToImagePipeline, type GenerationRequest } from './text-to-image.ts';

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
  stageC: { steps: 3, cfg: 4 },
  stageB: { steps: 2, cfg: 1.1 },
};

describe('text-to-image pipeline on the demo model', () => {
  it('generates exactly-sized, non-blank, deterministic images with one read-back', async () => {
    const engine = new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');
    const events: string[] = [];
    const pipeline = await TextToImagePipeline.load(engine, await demoPackage(), { onEvent: (e) => events.push(e.type === 'step' ? `${e.stage}:${e.step}` : e.type) });
    const a = await pipeline.generate(request);
    expect(a.images).toHaveLength(2);
    for (const img of a.images) {
      expect([img.width, img.height, img.rgb.length]).toEqual([256, 384, 256 * 384 * 3]);
      expect(new Set(img.rgb).size).toBeGreaterThan(16);
    }
    expect(Buffer.from(a.images[0].rgb).equals(Buffer.from(a.images[1].rgb))).toBe(false);
    expect(a.readbacks).toBe(1);
    expect(a.seed).toBe(1234n);
    expect(events).toEqual(expect.arrayContaining(['prior:1', 'prior:3', 'decoder:2', 'stage-end']));
    const b = await pipeline.generate(request);
    expect(Buffer.from(b.images[0].rgb).equals(Buffer.from(a.images[0].rgb))).toBe(true);
    const c = await pipeline.generate({ ...request, seed: 1235 });
    expect(Buffer.from(c.images[0].rgb).equals(Buffer.from(a.images[0].rgb))).toBe(false);
    await pipeline.release();
  });

  it('crops to sizes that are not multiples of 128 and runs the diffusers preset unguided', async () => {
    const engine = new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');
    const pipeline = await TextToImagePipeline.load(engine, await demoPackage(), { residency: 'sequential' });
    const out = await pipeline.generate({ ...request, numImages: 1, width: 300, height: 257, sampler: 'diffusers', stageB: { steps: 2, cfg: 1 } });
    expect([out.images[0].width, out.images[0].height, out.images[0].rgb.length]).toEqual([300, 257, 300 * 257 * 3]);
    await pipeline.release();
  });
});

describe('long-prompt mode', () => {
  it('stitches the chunks on the device exactly as the host reference does', async () => {
    const { buildLongPromptStitchGraph, compileWeightless } = await import('../models/pipeline-graphs.ts');
    const { stitchLongPromptHidden } = await import('./clip-tokenizer.ts');
    const engine = new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');
    const session = await engine.createSession(await compileWeightless(buildLongPromptStitchGraph(3)));
    const H = 5;
    const P = 4;
    const hidden = Float32Array.from({ length: 2 * 3 * 77 * H }, (_, i) => i);
    const pooled = Float32Array.from({ length: 2 * 3 * P }, (_, i) => -i);
    const out = await session.run({ hidden: engine.f32(hidden, [6, 77, H]), pooled: engine.f32(pooled, [6, P]) });
    const got = (await engine.read(out.clip_text)).data as Float32Array;
    expect(out.clip_text.dims).toEqual([2, 227, H]);
    for (let r = 0; r < 2; r++) {
      const chunks = [0, 1, 2].map((c) => hidden.subarray((r * 3 + c) * 77 * H, (r * 3 + c + 1) * 77 * H));
      expect([...got.subarray(r * 227 * H, (r + 1) * 227 * H)]).toEqual([...stitchLongPromptHidden(chunks, H)]);
    }
    expect([...((await engine.read(out.clip_text_pooled)).data as Float32Array)]).toEqual([...pooled.subarray(0, P), ...pooled.subarray(3 * P, 4 * P)]);
    await session.release();
  });

  it('generates with 227-token conditioning, differently from the 77-token default', async () => {
    const engine = new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');
    const pipeline = await TextToImagePipeline.load(engine, await demoPackage());
    const req = { ...request, numImages: 1, width: 256, height: 256 };
    const short = await pipeline.generate(req);
    const long = await pipeline.generate({ ...req, longPrompt: true });
    expect(long.images[0].rgb.length).toBe(256 * 256 * 3);
    expect(Buffer.from(long.images[0].rgb).equals(Buffer.from(short.images[0].rgb))).toBe(false);
    await pipeline.release();
  });
});
