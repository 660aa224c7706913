/**
 * The four SoteDiffusion V2 single files as released (docs/sotediffusion-v2-files.md §1.3): names, tensor names,
 * shapes and dtypes, built from the same configs the converter uses — and the rule that fills them with random
 * weights for full-size fixtures (scripts/fixture-full.ts). 'full' is the released size; 'small' the demo
 * configs in the same files/dtypes (for proving the scale harness and for unit tests).
 *
 * dtypes: Stage C and Stage B BF16 (issue 9), the text encoder F16 (the trainer's "saved fp16", spec §11), Stage A
 * F32 with its encoder, BatchNorm buffers and codebook (73.6 MB = 18,406,903 values × 4). The text encoder file
 * has no `text_model.embeddings.position_ids` (whether the release has it is unknown; loaders ignore it).
 *
 * Initialisation rule (deterministic per seed and tensor name, independent of write order): values are
 * uniform with standard deviation σ (and mean μ) by role —
 * - weights σ = 1/√fan_in (fan_in = product of all dims but the first), as N(0, 1/fan_in) in the golden set;
 * - biases σ = 0.1; LayerNorm weights μ = 1, σ = 0.1; GRN gamma/beta σ = 0.3; Stage A gammas σ = 0.5;
 *   CLIP token embeddings σ = 1, position embeddings σ = 0.5; ViT cls/position embeddings σ = 0.02;
 * - where the official StageC/StageB `_init_weights` zero-initialises or shrinks, the fixture stays small
 *   instead of zero (zero would make the output constant): TimestepBlock mappers and the output conv `clf.1`
 *   ×0.1, every ResBlock/FeedForwardBlock's last channelwise Linear ×√(1/Σ blocks[0]) as in the official code;
 * - BatchNorm running_var μ = 1, σ = 0.1 (positive), num_batches_tracked 0.
 * This keeps every residual branch O(1) after its LayerNorm, so activations grow at most like √depth.
 */
import { STAGE_B_PRESETS, STAGE_C_PRESETS, type UNetKwargs } from './cascade-config.ts';
import type { ModelKind } from './checkpoint-source.ts';
import { CLIP_BIGG_TEXT_PRESET } from './clip-text.ts';
import { DEMO_COMPONENTS } from './demo-model.ts';
import { buildModel, type AnyModelConfig } from './registry.ts';
import { STAGE_A_PRESET, stageALevelWidths, type StageAKwargs } from './stage-a.ts';
import type { SafetensorsDType } from '../weights/safetensors.ts';
import type { TensorSpec } from '../weights/safetensors-writer.ts';

export type FixtureScale = 'full' | 'small';

export const RELEASED_FILE_NAMES: Record<ModelKind, string> = {
  clip_text: 'sotediffusion-v2-stage_c_text_encoder.safetensors',
  stage_c: 'sotediffusion-v2-stage_c.safetensors',
  stage_b: 'sotediffusion-v2-stage_b.safetensors',
  stage_a: 'stage_a_ft_hq.safetensors',
};

const FILE_DTYPE: Record<ModelKind, SafetensorsDType> = { stage_c: 'BF16', stage_b: 'BF16', clip_text: 'F16', stage_a: 'F32' };

/** Released file sizes as the hub shows them (docs/sotediffusion-v2-files.md §0), for the ±1 % check. */
export const RELEASED_SHOWN_BYTES: Record<ModelKind, number> = { stage_c: 7.18e9, stage_b: 3.13e9, clip_text: 1.39e9, stage_a: 73.6e6 };

export interface ReleasedFileSpec {
  kind: ModelKind;
  path: string;
  model: AnyModelConfig;
  tensors: TensorSpec[];
  metadata: Record<string, string>;
}

export function fixtureComponents(scale: FixtureScale): AnyModelConfig[] {
  if (scale === 'small') return DEMO_COMPONENTS;
  return [
    { kind: 'clip_text', config: CLIP_BIGG_TEXT_PRESET },
    { kind: 'stage_c', config: STAGE_C_PRESETS.big },
    { kind: 'stage_b', config: STAGE_B_PRESETS.big },
    { kind: 'stage_a', config: STAGE_A_PRESET },
  ];
}

/**
 * Stage A's encoder side, which the decoder graph ignores but the released file holds (official StageA:
 * in_block = [PixelUnshuffle, Conv1×1], down_blocks = [ResBlock(c0), (Conv k4 s2, ResBlock(ci))…,
 * Sequential(Conv1×1 no bias, BatchNorm2d)], vquantizer.codebook).
 */
export function stageAEncoderTensors(k: StageAKwargs): TensorSpec[] {
  const c = stageALevelWidths(k);
  const out: TensorSpec[] = [];
  const f32 = (name: string, shape: number[]) => out.push({ name, dtype: 'F32', shape });
  const resBlock = (p: string, w: number) => {
    f32(`${p}.gammas`, [6]);
    f32(`${p}.depthwise.1.weight`, [w, 1, 3, 3]);
    f32(`${p}.depthwise.1.bias`, [w]);
    f32(`${p}.channelwise.0.weight`, [4 * w, w]);
    f32(`${p}.channelwise.0.bias`, [4 * w]);
    f32(`${p}.channelwise.2.weight`, [w, 4 * w]);
    f32(`${p}.channelwise.2.bias`, [w]);
  };
  f32('in_block.1.weight', [c[0], 12, 1, 1]);
  f32('in_block.1.bias', [c[0]]);
  let i = 0;
  for (let level = 0; level < k.levels; level++) {
    if (level > 0) {
      f32(`down_blocks.${i}.weight`, [c[level], c[level - 1], 4, 4]);
      f32(`down_blocks.${i}.bias`, [c[level]]);
      i++;
    }
    resBlock(`down_blocks.${i++}`, c[level]);
  }
  f32(`down_blocks.${i}.0.weight`, [k.c_latent, c[k.levels - 1], 1, 1]);
  for (const b of ['weight', 'bias', 'running_mean', 'running_var']) f32(`down_blocks.${i}.1.${b}`, [k.c_latent]);
  out.push({ name: `down_blocks.${i}.1.num_batches_tracked`, dtype: 'I64', shape: [] });
  f32('vquantizer.codebook.weight', [k.codebook_size, k.c_latent]);
  return out;
}

/** The file specs (tensor names/shapes/dtypes as released) for a scale. */
export function releasedFileSpecs(scale: FixtureScale): ReleasedFileSpec[] {
  return fixtureComponents(scale).map((model) => {
    const dtype = FILE_DTYPE[model.kind];
    const tensors: TensorSpec[] = [...buildModel(model).expected].map(([name, shape]) => ({ name, dtype, shape }));
    if (model.kind === 'stage_a') tensors.push(...stageAEncoderTensors(model.config.kwargs));
    return {
      kind: model.kind,
      path: RELEASED_FILE_NAMES[model.kind],
      model,
      tensors,
      metadata: { format: 'pt', 'modelspec.title': `sote fixture (${scale}) ${model.kind}` },
    };
  });
}

/** The UNet kwargs of a Stage C/B network (its tensors follow the official zero-init exceptions). */
export function unetKwargs(model: AnyModelConfig): UNetKwargs | undefined {
  return model.kind === 'stage_c' || model.kind === 'stage_b' ? model.config.kwargs : undefined;
}

/** Number of values a spec holds (what PyTorch's sum of numel over the state_dict gives). */
export function specParameterCount(spec: ReleasedFileSpec): number {
  return spec.tensors.reduce((a, t) => a + t.shape.reduce((x, d) => x * d, 1), 0);
}

export interface InitRule {
  mean: number;
  std: number;
}

/** The initialisation rule of the file comment, for one tensor; `unet` for Stage C/B tensors. */
export function fixtureInit(name: string, shape: readonly number[], unet?: UNetKwargs): InitRule {
  const fanIn = Math.max(1, shape.slice(1).reduce((a, d) => a * d, 1));
  if (name.endsWith('num_batches_tracked')) return { mean: 0, std: 0 };
  if (name.endsWith('running_var')) return { mean: 1, std: 0.1 };
  if (name.endsWith('.bias') || name.endsWith('running_mean')) return { mean: 0, std: 0.1 };
  if (/\.(gamma|beta)$/.test(name)) return { mean: 0, std: 0.3 };
  if (name.endsWith('.gammas')) return { mean: 0, std: 0.5 };
  if (/(layer_norm\d?|final_layer_norm|layernorm(_before|_after)?)\.weight$/.test(name)) return { mean: 1, std: 0.1 };
  if (name.endsWith('position_embedding.weight')) return { mean: 0, std: 0.5 };
  if (name.endsWith('token_embedding.weight')) return { mean: 0, std: 1 };
  if (/(cls_token|position_embeddings)$/.test(name)) return { mean: 0, std: 0.02 };
  const std = 1 / Math.sqrt(fanIn);
  if (unet) {
    const k = unet;
    if (/\.mapper(_\w+)?\.weight$/.test(name) || name === 'clf.1.weight') return { mean: 0, std: 0.1 * std };
    if (/\.channelwise\.4\.weight$/.test(name)) return { mean: 0, std: std * Math.sqrt(1 / k.blocks[0].reduce((a, b) => a + b, 0)) };
  }
  return { mean: 0, std };
}

/** FNV-1a over the name, mixed with the seed: each tensor's stream depends only on (seed, name). */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A sequential value stream for one tensor: xoshiro128** uniforms scaled to mean/std (uniform on
 * [μ − √3σ, μ + √3σ]). Call `fill` with consecutive chunks.
 */
export function tensorValues(seed: number, name: string, rule: InitRule): (out: Float32Array) => void {
  let x = tensorSeed(seed, name);
  const next32 = () => {
    // splitmix32 seeds the four state words
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = next32() | 1, s1 = next32(), s2 = next32(), s3 = next32();
  const half = Math.sqrt(3) * rule.std;
  const scale = (2 * half) / 4294967296;
  const lo = rule.mean - half;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      const r = Math.imul(((Math.imul(s1, 5) << 7) | (Math.imul(s1, 5) >>> 25)), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = lo + r * scale;
    }
  };
}
