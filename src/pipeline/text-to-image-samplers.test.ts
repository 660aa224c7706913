/**
 * The SoteDiffusion v2 samplers through the whole pipeline on the demo model: DPM++(2M) sgm_uniform for Stage C
 * and LCM exponential at CFG 1 (network on the conditional rows only) for Stage B stay on the device (one
 * read-back), are deterministic per seed, and give a different image than the default DDPM sampler.
 */
import { describe, expect, it } from 'vitest';
import { OrtEngine, type OrtModule } from '../engine/ort-engine.ts';
import { writeDemoModel } from '../models/demo-model.ts';
import { memoryPackageReader } from './package-reader.ts';
import { TextToImagePipeline, type GenerationRequest } from './text-to-image.ts';

const base: GenerationRequest = {
  prompt: 'newest, extremely aesthetic, best quality, 1girl, solo',
  negativePrompt: 'worst quality',
  width: 256,
  height: 256,
  seed: 77,
  stageC: { steps: 3, cfg: 4 },
  stageB: { steps: 2, cfg: 1.1 },
};
const recommended: GenerationRequest = {
  ...base,
  stageC: { steps: 3, cfg: 6, sampler: { method: 'dpmpp_2m', schedule: 'sgm_uniform' } },
  stageB: { steps: 3, cfg: 1, sampler: { method: 'lcm', schedule: 'exponential' } },
};

describe('k-diffusion samplers in the text-to-image pipeline', () => {
  it('DPM++ 2M + LCM (CFG 1): one read-back, deterministic, not the DDPM image', async () => {
    const files = new Map<string, Uint8Array>();
    await writeDemoModel({ write: async (path, bytes) => void files.set(path, bytes) });
    const engine = new OrtEngine((await import('onnxruntime-node')) as unknown as OrtModule, 'node');
    const steps: string[] = [];
    const pipeline = await TextToImagePipeline.load(engine, memoryPackageReader('demo', files), { onEvent: (e) => e.type === 'step' && steps.push(`${e.stage}:${e.step}/${e.steps}`) });
    const a = await pipeline.generate(recommended);
    expect(a.readbacks).toBe(1);
    expect(new Set(a.images[0].rgb).size).toBeGreaterThan(16);
    expect(steps).toEqual(['prior:1/3', 'prior:2/3', 'prior:3/3', 'decoder:1/3', 'decoder:2/3', 'decoder:3/3']);
    const again = await pipeline.generate(recommended);
    expect(Buffer.from(again.images[0].rgb).equals(Buffer.from(a.images[0].rgb))).toBe(true);
    const ddpm = await pipeline.generate(base);
    expect(Buffer.from(ddpm.images[0].rgb).equals(Buffer.from(a.images[0].rgb))).toBe(false);
    // Only Stage B changed to LCM: the Stage C result is the same DDPM one, the image is not.
    const lcmOnly = await pipeline.generate({ ...base, stageB: recommended.stageB });
    expect(Buffer.from(lcmOnly.images[0].rgb).equals(Buffer.from(ddpm.images[0].rgb))).toBe(false);
    await pipeline.release();
  });
});
