/**
 * int8/int4 builds are what GPUs without shader-f16 run (engine/placement.ts), and on WebGPU an fp16 tensor
 * needs shader-f16: so these builds hold no float16 tensor, also where fp16 builds store big tensors as fp16 (the
 * CLIP token table, big Stage A / Stage B convs). e2e/webgpu-placement runs the tiny networks at these
 * precisions on a GPU without shader-f16; these configs are big enough to reach the fp16 paths.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, type AnyModelConfig } from './registry.ts';
import { DEMO_COMPONENTS } from './demo-model.ts';
import { parseStageAConfig } from './stage-a.ts';
import { CLIP_BIGG_TEXT_PRESET } from './clip-text.ts';

const STAGE_B = DEMO_COMPONENTS.find((c) => c.kind === 'stage_b')!;
const CASES: AnyModelConfig[] = [
  { kind: 'clip_text', config: { ...CLIP_BIGG_TEXT_PRESET, num_hidden_layers: 1 } },
  // ConvTranspose 128·64·16 = 131072 ≥ 65536 elements (ModelContext.convWeightDtype's threshold)
  { kind: 'stage_a', config: parseStageAConfig({ kwargs: { levels: 2, bottleneck_blocks: 1, c_hidden: 128, c_latent: 4, codebook_size: 8 } }) },
  STAGE_B.kind === 'stage_b' ? { kind: 'stage_b', config: { ...STAGE_B.config, kwargs: { ...STAGE_B.config.kwargs, c_hidden: [8, 16, 128, 256] } } } : STAGE_B,
];

describe('int8/int4 builds hold no float16 tensor', () => {
  for (const model of CASES) {
    it(`${model.kind}`, () => {
      const fp16 = buildModel(model, { precision: 'fp16', part: 'full' });
      expect(fp16.g.weights.some((w) => w.dtype === 'float16'), 'the fp16 build reaches an fp16 tensor').toBe(true);
      for (const precision of ['int8', 'int4'] as const) {
        const ctx = buildModel(model, { precision, part: 'full' });
        expect(ctx.g.weights.filter((w) => w.dtype === 'float16').map((w) => w.name), precision).toEqual([]);
      }
    });
  }
});
