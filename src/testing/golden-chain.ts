/**
 * The golden chain of golden/e2e (README "End to end"): which files it reads, how the CLI's `convert` packages
 * it, and the 8-bit comparison with image_rgb8. Shared by the Node test (src/cli/commands/golden-chain.test.ts)
 * and the worker test (e2e/golden-chain.test.ts).
 */
import { goldenPath } from './golden.ts';

/** Every golden file the chain reads. */
export const GOLDEN_CHAIN_FILES = [
  'e2e/e2e.json', 'e2e/e2e_image.safetensors', 'e2e/e2e_stage_c_config.json', 'e2e/e2e_stage_c_weights.safetensors',
  'e2e/e2e_stage_b_config.json', 'e2e/e2e_stage_b_weights.safetensors', 'stage_a_config.json', 'stage_a_weights.safetensors',
  'clip/text_encoder_config.json', 'clip/text_encoder_weights.safetensors', 'clip/vocab.json', 'clip/merges.txt',
];

export interface GoldenChainSettings {
  prompt: string;
  negative_prompt: string;
  seed: number;
  width: number;
  height: number;
  first_stage_steps: number;
  guidance_scale: number;
  second_stage_steps: number;
  second_stage_guidance_scale: number;
}

/** The `convert` arguments that package the golden chain at fp32 into `to`. */
export function goldenChainConvertArgs(to: string): string[] {
  return [
    '--from', goldenPath('clip', 'text_encoder_weights.safetensors'), '--config', `clip_text=${goldenPath('clip', 'text_encoder_config.json')}`,
    '--from', goldenPath('e2e', 'e2e_stage_c_weights.safetensors'), '--config', `stage_c=${goldenPath('e2e', 'e2e_stage_c_config.json')}`,
    '--from', goldenPath('e2e', 'e2e_stage_b_weights.safetensors'), '--config', `stage_b=${goldenPath('e2e', 'e2e_stage_b_config.json')}`,
    '--from', goldenPath('stage_a_weights.safetensors'), '--config', `stage_a=${goldenPath('stage_a_config.json')}`,
    '--tokenizer', goldenPath('clip'), '--precision', 'fp32', '--name', 'golden-e2e', '--to', to,
  ];
}

/** Levels differences of 8-bit values: the largest, and how many values differ at all. */
export function levelDiff(actual: ArrayLike<number>, reference: ArrayLike<number>): { max: number; differing: number; total: number } {
  if (actual.length !== reference.length) throw new Error(`image sizes differ: ${actual.length} vs ${reference.length} values`);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(actual[i] - reference[i]);
    if (d > 0) differing++;
    max = Math.max(max, d);
  }
  return { max, differing, total: reference.length };
}
