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
