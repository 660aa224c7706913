/**
 * Stage A (Paella VQGAN, f4; official modules/stage_a.py `StageA`): the decoder graph text-to-image needs.
 *
 * decode(latents) = out_block(up_blocks(latents · scale_factor)); no quantization (official `decode` does not
 * quantize, diffusers defaults to force_not_quantize) and no clamp (the pipeline clamps to [0,1] when it turns
 * the result into pixels; the golden is unclamped).
 *
 * Layout: ResBlocks work channels-last [B,H,W,C], because their LayerNorms and Linears act on the channel axis
 * (ONNX LayerNormalization normalises over the trailing axes, so NCHW would normalise over C,H,W). Only the
 * depthwise 3×3 conv, the ConvTranspose and the final PixelShuffle switch to NCHW.
 *
 * Official architecture, with c_levels = [c_hidden / 2^(levels-1-i) for i in 0..levels-1] (shallow → deep):
 *   encoder (unused here): in_block = PixelUnshuffle(2), Conv1×1(12 → c_levels[0]);
 *     down_blocks = [ResBlock(c_levels[0]), (Conv k4 s2 p1 c_levels[i-1] → c_levels[i], ResBlock(c_levels[i])) for
 *     i ≥ 1, Sequential(Conv1×1(c_levels[-1] → c_latent, no bias), BatchNorm2d(c_latent))];
 *     vquantizer.codebook = Embedding(codebook_size, c_latent).
 *   decoder: up_blocks = [Sequential(Conv1×1(c_latent → c_levels[-1])), then for level i = 0..levels-1:
 *     (bottleneck_blocks if i == 0 else 1) × ResBlock(c_levels[levels-1-i]), and unless last,
 *     ConvTranspose(k4 s2 p1, c_levels[levels-1-i] → c_levels[levels-2-i])];
 *     out_block = Sequential(Conv1×1(c_levels[0] → 12), PixelShuffle(2)).
 * up_blocks indices therefore run consecutively: 0 (Sequential, so `up_blocks.0.0.*`), then blocks and
 * ConvTransposes in the order above (released: 1..12 ResBlocks 384, 13 ConvTranspose, 14 ResBlock 192).
 */
import { gelu, layerNormAffine, nchwToNhwc, nhwcToNchw, pixelShuffle } from '../onnx/ops.ts';
import { ConfigError } from './cascade-config.ts';
import { ModelContext, type Precision } from './model-context.ts';

/** StageA constructor arguments (official kwargs names). */
export interface StageAKwargs {
  levels: number;
  bottleneck_blocks: number;
  c_hidden: number;
  c_latent: number;
  codebook_size: number;
  scale_factor: number;
}

export type StageAConfig = { class: 'StageA'; kwargs: StageAKwargs };

const STAGE_A_DEFAULTS: StageAKwargs = {
  levels: 2, bottleneck_blocks: 12, c_hidden: 384, c_latent: 4, codebook_size: 8192, scale_factor: 0.43,
};

/** The released Stage A (official constructor defaults; 18,406,903 parameters incl. BatchNorm buffers). */
export const STAGE_A_PRESET: StageAConfig = { class: 'StageA', kwargs: STAGE_A_DEFAULTS };

/** diffusers' vqgan/config.json scale_factor (inherited from Würstchen v2); official/ComfyUI use 0.43. */
export const DIFFUSERS_STAGE_A_SCALE = 0.3764;

/** Stage A LayerNorms: nn.LayerNorm(c, elementwise_affine=False, eps=1e-6). */
export const STAGE_A_LN_EPS = 1e-6;

/**
 * Parses `{"class":"StageA","module":…,"kwargs":{…}}` (or bare kwargs). Missing arguments take the official
 * defaults; unknown ones are an error (a typo would otherwise silently build the released size).
 */
export function parseStageAConfig(raw: unknown): StageAConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('StageA config must be an object');
  const obj = raw as { class?: unknown; kwargs?: unknown };
  if (obj.class !== undefined && obj.class !== 'StageA') throw new ConfigError(`expected a StageA config, got class ${JSON.stringify(obj.class)}`);
  const kwargs = (obj.kwargs ?? raw) as Record<string, unknown>;
  const known = new Set(Object.keys(STAGE_A_DEFAULTS));
  const ignored = new Set(['class', 'module', 'kwargs']);
  const unknown = Object.keys(kwargs).filter((k) => !known.has(k) && !ignored.has(k));
  if (unknown.length) throw new ConfigError(`StageA config has unknown argument(s): ${unknown.join(', ')}`);
  const merged: StageAKwargs = { ...STAGE_A_DEFAULTS };
  for (const k of known) {
    const v = kwargs[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`StageA: ${k} must be a number (got ${JSON.stringify(v)})`);
    merged[k as keyof StageAKwargs] = v;
  }
  validateStageA(merged);
  return { class: 'StageA', kwargs: merged };
}

function validateStageA(k: StageAKwargs): void {
  for (const name of ['levels', 'bottleneck_blocks', 'c_hidden', 'c_latent', 'codebook_size'] as const) {
    if (!Number.isInteger(k[name]) || k[name] < 1) throw new ConfigError(`StageA: ${name} must be a positive integer (got ${k[name]})`);
  }
  if (k.c_hidden % 2 ** (k.levels - 1) !== 0) {
    throw new ConfigError(`StageA: c_hidden ${k.c_hidden} must be divisible by 2^(levels-1) = ${2 ** (k.levels - 1)}`);
  }
  if (!(k.scale_factor > 0)) throw new ConfigError(`StageA: scale_factor must be positive (got ${k.scale_factor})`);
}

/** Channel widths per level, shallow → deep (official `c_levels`); released: [192, 384]. */
export function stageALevelWidths(k: StageAKwargs): number[] {
  return Array.from({ length: k.levels }, (_, i) => k.c_hidden / 2 ** (k.levels - 1 - i));
}

/** One entry of the decoder's up_blocks list, in index order. */
type UpBlock = { kind: 'in'; cOut: number } | { kind: 'res'; c: number } | { kind: 'up'; cIn: number; cOut: number };

/** The decoder's up_blocks in official index order (index = position in this list). */
function upBlockPlan(k: StageAKwargs): UpBlock[] {
  const c = stageALevelWidths(k);
  const L = k.levels;
  const plan: UpBlock[] = [{ kind: 'in', cOut: c[L - 1] }];
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < (i === 0 ? k.bottleneck_blocks : 1); j++) plan.push({ kind: 'res', c: c[L - 1 - i] });
    if (i < L - 1) plan.push({ kind: 'up', cIn: c[L - 1 - i], cOut: c[L - 2 - i] });
  }
  return plan;
}

export interface StageABuildOptions {
  precision?: Precision;
  /**
   * Multiplier applied to the latents before the decoder. Defaults to the config's scale_factor (0.43 in the
   * official code); diffusers-style pipelines use 0.3764 (DIFFUSERS_STAGE_A_SCALE). A graph constant, not a
   * checkpoint value (the official scale_factor is a Python attribute, never stored).
   */
  scaleFactor?: number;
  /** Graph name (also the external-data chunk prefix). */
  name?: string;
}

/** Encoder, quantizer and BatchNorm weights sit in every checkpoint but decode never reads them. */
export const STAGE_A_ENCODER_PREFIXES = ['in_block.', 'down_blocks.', 'vquantizer.'];

/**
 * Builds StageA.decode: input `latents` [B,c_latent,H,W] float32 (B, H, W dynamic) → output `decoded`
 * [B,3,4H,4W] float32 (RGB, nominally [0,1], unclamped).
 */
export function buildStageADecoder(config: StageAConfig, options: StageABuildOptions = {}): ModelContext {
  const k = config.kwargs;
  validateStageA(k);
  const ctx = new ModelContext(options.name ?? 'stage_a_decoder', {
    precision: options.precision,
    ignoredPrefixes: STAGE_A_ENCODER_PREFIXES,
  });
  const g = ctx.g;
  const scale = options.scaleFactor ?? k.scale_factor;
  const latents = g.input('latents', 'float32', ['B', k.c_latent, 'H', 'W']);
  // NCHW [B,c_latent,H,W]; the scale is applied to the latents exactly as official decode does (x * scale).
  let nchw = g.node('Mul', [latents, g.f32([scale], [])]);
  let x = ''; // channels-last [B,h,w,C] between ResBlocks
  const plan = upBlockPlan(k);
  plan.forEach((blk, i) => {
    const prefix = `up_blocks.${i}`;
    g.scope(prefix, () => {
      if (blk.kind === 'in') {
        // Conv1×1 on NCHW in fp32 whatever the precision: K = c_latent (4) is too narrow for block
        // quantization and the layer is tiny. [B,c_latent,H,W] → [B,H,W,c_top].
        const w = ctx.param(`${prefix}.0.weight`, [blk.cOut, k.c_latent, 1, 1]);
        const b = ctx.param(`${prefix}.0.bias`, [blk.cOut]);
        x = nchwToNhwc(g, g.node('Conv', [nchw, w, b], { kernel_shape: [1, 1] }));
      } else if (blk.kind === 'res') {
        x = stageAResBlock(ctx, x, prefix, blk.c);
      } else {
        // ConvTranspose2d(k4, s2, p1): [B,cIn,h,w] → [B,cOut,2h,2w] ((h-1)·2 − 2 + 4 = 2h).
        nchw = convNchw(ctx, nhwcToNchw(g, x), prefix, 'ConvTranspose', [blk.cIn, blk.cOut, 4, 4], blk.cOut, {
          kernel_shape: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1],
        });
        x = nchwToNhwc(g, nchw);
      }
    });
  });
  const c0 = stageALevelWidths(k)[0];
  // out_block.0: Conv1×1(c0 → 12) as a Linear on channels-last, then PixelShuffle(2) on NCHW:
  // [B,2h,2w,12] → [B,12,2h,2w] → [B,3,4h,4w] (DepthToSpace CRD = PyTorch PixelShuffle channel order).
  const rgb12 = g.scope('out_block', () => ctx.linear(x, 'out_block.0', c0, 12, true, [12, c0, 1, 1]));
  const decoded = pixelShuffle(g, nhwcToNchw(g, rgb12), 2);
  g.output(decoded, 'decoded', 'float32', ['B', 3, 'H4', 'W4']);
  return ctx;
}

/**
 * Stage A ResBlock ("MixingResidualBlock") on channels-last x [B,H,W,C]:
 *   x = x + g2 · depthwise3×3(ReplicationPad1(LN(x)·(1+g0) + g1))
 *   x = x + g5 · Linear(4C→C)(GELU(Linear(C→4C)(LN(x)·(1+g3) + g4)))
 * LN has no affine parameters (eps 1e-6); the modulations (1+g0, g1) and (1+g3, g4) become the
 * LayerNormalization scale/bias, which computes normalised·scale + bias — the same operations in the same
 * order as the official code. g2 and g5 stay explicit multiplies after the branch for the same reason.
 */
export function stageAResBlock(ctx: ModelContext, x: string, prefix: string, c: number): string {
  const g = ctx.g;
  const gammas = `${prefix}.gammas`;
  /** A [n]-vector filled with f(gammas) — the gammas are checkpoint values, unknown at build time. */
  const fromGammas = (tag: string, n: number, f: (gm: Float32Array) => number) =>
    ctx.derived(`${gammas}.${tag}`, n === 1 ? [] : [n], [[gammas, [6]]], (gm) => new Float32Array(n).fill(f(gm)));
  // float32 arithmetic as PyTorch: (1 + g) is rounded to float32 before it multiplies.
  const ln = (mul: number, add: number) =>
    layerNormAffine(g, x, fromGammas(`ln${mul}_scale`, c, (gm) => Math.fround(1 + gm[mul])), fromGammas(`ln${mul}_bias`, c, (gm) => gm[add]), STAGE_A_LN_EPS);

  // Depthwise branch: Pad "edge" = ReplicationPad2d(1); 3×3 conv groups=C without padding keeps H×W.
  const t1 = nhwcToNchw(g, ln(0, 1));
  const padded = g.node('Pad', [t1, g.i64([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'edge' });
  const dw = g.node('Conv', [padded, ctx.param(`${prefix}.depthwise.1.weight`, [c, 1, 3, 3]), ctx.param(`${prefix}.depthwise.1.bias`, [c])], {
    group: c, kernel_shape: [3, 3],
  });
  x = g.node('Add', [x, g.node('Mul', [nchwToNhwc(g, dw), fromGammas('g2', 1, (gm) => gm[2])])]);

  // Channelwise branch (per pixel): Linear(C→4C), exact GELU, Linear(4C→C).
  const t2 = ln(3, 4);
  let h = ctx.linear(t2, `${prefix}.channelwise.0`, c, 4 * c);
  h = gelu(g, h);
  h = ctx.linear(h, `${prefix}.channelwise.2`, 4 * c, c);
  return g.node('Add', [x, g.node('Mul', [h, fromGammas('g5', 1, (gm) => gm[5])])]);
}

/**
 * Conv / ConvTranspose on NCHW with the checkpoint's weight `${prefix}.weight` (shape as PyTorch stores it)
 * and bias `${prefix}.bias` [cOut]. Big weights go fp16 in reduced precisions (ModelContext.convWeightDtype);
 * then the input is cast to fp16 around the conv and the bias is added in fp32, so activations between
 * blocks stay fp32.
 */
function convNchw(
  ctx: ModelContext,
  x: string,
  prefix: string,
  op: 'Conv' | 'ConvTranspose',
  weightShape: number[],
  cOut: number,
  attrs: Record<string, number[]>,
): string {
  const g = ctx.g;
  const dtype = ctx.convWeightDtype(weightShape.reduce((a, d) => a * d, 1));
  const w = ctx.param(`${prefix}.weight`, weightShape, [...weightShape], dtype);
  if (dtype === 'float32') return g.node(op, [x, w, ctx.param(`${prefix}.bias`, [cOut])], attrs);
  const y = g.node('Cast', [g.node(op, [g.node('Cast', [x], { to: 10 }), w], attrs)], { to: 1 });
  return g.node('Add', [y, ctx.param(`${prefix}.bias`, [cOut], [1, cOut, 1, 1])]);
}

// ---- parameter counts ------------------------------------------------------------------------------------

/** Parameters of one Stage A ResBlock of width c: gammas 6, depthwise 9c + c, Linear c→4c, Linear 4c→c. */
function resBlockParams(c: number): number {
  return 6 + (9 * c + c) + (4 * c * c + 4 * c) + (4 * c * c + c);
}

/**
 * Encoder, BatchNorm and codebook parameters, counted from the architecture (see the file comment):
 * in_block Conv1×1(12 → c0) with bias; per level a ResBlock, with a k4 conv (with bias) between levels;
 * Conv1×1(c_top → c_latent) without bias; BatchNorm2d weight, bias, running_mean, running_var (4·c_latent) and
 * num_batches_tracked (1, an int64 scalar the official count includes); codebook codebook_size × c_latent.
 */
export function stageAEncoderParameterCount(k: StageAKwargs): number {
  const c = stageALevelWidths(k);
  let n = 12 * c[0] + c[0];
  for (let i = 0; i < k.levels; i++) {
    if (i > 0) n += c[i - 1] * c[i] * 16 + c[i];
    n += resBlockParams(c[i]);
  }
  n += c[k.levels - 1] * k.c_latent;
  n += 4 * k.c_latent + 1;
  n += k.codebook_size * k.c_latent;
  return n;
}

/** Decoder parameters, counted arithmetically (equals buildStageADecoder(config).parameterCount()). */
export function stageADecoderParameterCount(k: StageAKwargs): number {
  let n = 0;
  for (const blk of upBlockPlan(k)) {
    if (blk.kind === 'in') n += k.c_latent * blk.cOut + blk.cOut;
    else if (blk.kind === 'res') n += resBlockParams(blk.c);
    else n += blk.cIn * blk.cOut * 16 + blk.cOut;
  }
  const c0 = stageALevelWidths(k)[0];
  return n + c0 * 12 + 12;
}

/** Whole StageA state_dict size (what PyTorch's sum of numel over the state_dict gives; released 18,406,903). */
export function stageAParameterCount(config: StageAConfig): number {
  return stageADecoderParameterCount(config.kwargs) + stageAEncoderParameterCount(config.kwargs);
}
