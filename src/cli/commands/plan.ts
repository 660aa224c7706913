/**
 * `plan`: weight bytes per precision and estimated peak activation memory of the released networks at
 * 1024×1024 and 1024×1536 (the SoteDiffusion default), from configs alone — no weight is allocated.
 */
import { formatBytes } from '../../core/format-bytes.ts';
import { STAGE_B_PRESETS, STAGE_C_PRESETS } from '../../models/cascade-config.ts';
import { CLIP_BIGG_TEXT_PRESET } from '../../models/clip-text.ts';
import { PRECISIONS } from '../../models/model-context.ts';
import { buildModel, type AnyModelConfig } from '../../models/registry.ts';
import { STAGE_A_PRESET } from '../../models/stage-a.ts';
import { clipActivations, graphWeightBytes, stageAActivations, stageBActivations, stageCActivations, type ActivationEstimate } from '../../engine/memory-plan.ts';
import { parseCli } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE = 'npm run cli -- plan [--images N]';
const gib = (n: number) => formatBytes(n, { unit: 'GiB' });

const NETWORKS: { label: string; model: AnyModelConfig }[] = [
  { label: 'CLIP ViT-bigG text', model: { kind: 'clip_text', config: CLIP_BIGG_TEXT_PRESET } },
  { label: 'Stage C 3.6B (SoteDiffusion)', model: { kind: 'stage_c', config: STAGE_C_PRESETS.big } },
  { label: 'Stage C 1B lite', model: { kind: 'stage_c', config: STAGE_C_PRESETS.lite } },
  { label: 'Stage B 1.5B (SoteDiffusion)', model: { kind: 'stage_b', config: STAGE_B_PRESETS.big } },
  { label: 'Stage B 700M lite', model: { kind: 'stage_b', config: STAGE_B_PRESETS.lite } },
  { label: 'Stage A decoder', model: { kind: 'stage_a', config: STAGE_A_PRESET } },
];

function activations(model: AnyModelConfig, w: number, h: number, images: number, fused: boolean): ActivationEstimate {
  switch (model.kind) {
    case 'clip_text': return clipActivations(model.config, 2);
    case 'stage_c': return stageCActivations(model.config, w, h, images, fused);
    case 'stage_b': return stageBActivations(model.config, w, h, images, fused);
    case 'stage_a': return stageAActivations(model.config, w, h, images);
  }
}

export const command: CliCommand = {
  summary: 'print weight and activation memory of the released models per precision and size',
  async run(argv) {
    const { values } = parseCli(argv, { images: { type: 'string', default: '1' } }, USAGE);
    const images = Number(values.images);
    console.log(`Weights (bytes of initializers as converted; big convs fp16 only in fp16 builds, int8/int4 keep no 16-bit tensor; norms/biases fp32)\n`);
    console.log(`| network | parameters | ${PRECISIONS.join(' | ')} |`);
    console.log(`|---|---:|${PRECISIONS.map(() => '---:').join('|')}|`);
    const totals = new Map<string, number>(PRECISIONS.map((p) => [p, 0]));
    for (const { label, model } of NETWORKS) {
      const cells: string[] = [];
      let params = 0;
      for (const precision of PRECISIONS) {
        const ctx = buildModel(model, { precision });
        params = ctx.parameterCount();
        const bytes = graphWeightBytes(ctx.g);
        if (!label.includes('lite')) totals.set(precision, totals.get(precision)! + bytes);
        cells.push(gib(bytes));
      }
      console.log(`| ${label} | ${params.toLocaleString('en-US')} | ${cells.join(' | ')} |`);
    }
    console.log(`| **SoteDiffusion v2 total** (CLIP + C 3.6B + B 1.5B + A) | | ${PRECISIONS.map((p) => gib(totals.get(p)!)).join(' | ')} |`);

    console.log(`\nPeak activations per forward pass, float32 activations, ${images} image(s), CFG batch ${2 * images} (Stage A: ${images})`);
    console.log('estimate ±30 %; "largest" is the biggest single tensor (must fit maxStorageBufferBindingSize)\n');
    console.log('| network | 1024×1024 peak | largest | 1024×1536 peak | largest | 1024×1536 unfused attention peak |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const { label, model } of NETWORKS) {
      const a = activations(model, 1024, 1024, images, true);
      const b = activations(model, 1024, 1536, images, true);
      const u = activations(model, 1024, 1536, images, false);
      console.log(`| ${label} | ${gib(a.peakBytes)} | ${gib(a.largestTensorBytes)} | ${gib(b.peakBytes)} | ${gib(b.largestTensorBytes)} | ${gib(u.peakBytes)} |`);
    }
  },
};
