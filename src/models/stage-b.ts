/**
 * Stage B (the latent decoder) as an ONNX graph, from an official StageB config.
 *
 * Graph inputs: x [B,4,h,w], r [B], effnet [B,16,he,we] (Stage C's result, any size: resized inside),
 * clip [B,1,c_clip] (pooled text), and — unless folded — pixels [B,3,ph,pw] and sca [B].
 * Output: output [B,4,h,w] (ε).
 *
 * Folding (text-to-image defaults): pixels are zeros, so pixels_mapper(pixels) is one constant vector
 * v = LN(W₂·GELU(b₁) + b₂) at every position, and its bilinear resize is v again — a bias; sca = 0 folds into
 * the TimestepBlock biases as in Stage C.
 */
import { layerNormAffine, layerNormLastAxis, nchwToNhwc, nhwcToNchw, pixelShuffle, pixelUnshuffleToNhwc, resizeBilinearAlignCorners, shapeOf } from '../onnx/ops.ts';
import { CASCADE_LN_EPS, layerNorm2d, rEmbedding, siluTokens, type TimeConditioning } from './cascade-blocks.ts';
import type { StageBConfig } from './cascade-config.ts';
import { conditioningKv, conditioningOutputs, unetBody } from './cascade-unet.ts';
import { ModelContext } from './model-context.ts';
import type { CascadeBuildOptions } from './stage-c.ts';

export interface StageBBuildOptions extends CascadeBuildOptions {
  /**
   * Drop the resize-to-skip path. Exact only when every level's size halves evenly (latent sides multiples of
   * 2^levels·patch, e.g. images in multiples of 128 px); the default keeps it so any size works.
   */
  alignedOnly?: boolean;
}

export function buildStageB(config: StageBConfig, options: StageBBuildOptions = {}): ModelContext {
  const k = config.kwargs;
  const part = options.part ?? 'full';
  const ctx = new ModelContext(part === 'conditioning' ? 'stage_b_cond' : 'stage_b', { ...options, partial: part !== 'full' });
  const g = ctx.g;
  const withInputs = options.conditionInputs ?? false;
  if (part === 'conditioning') {
    conditioningOutputs(ctx, k, siluTokens(ctx, conditioningTokens(ctx, config)));
    return ctx;
  }
  const x = g.input('x', 'float32', ['B', k.c_in, 'h', 'w']);
  const r = g.input('r', 'float32', ['B']);
  const effnet = g.input('effnet', 'float32', ['B', k.c_effnet, 'he', 'we']);
  const condSilu = part === 'full' ? siluTokens(ctx, conditioningTokens(ctx, config)) : '';
  const pixels = withInputs ? g.input('pixels', 'float32', ['B', k.c_pixels, 'ph', 'pw']) : undefined;
  const time: TimeConditioning = {
    cR: k.c_r,
    rEmbed: rEmbedding(ctx, r, k.c_r),
    conds: k.t_conds.map((name) => ({ name, embed: withInputs ? rEmbedding(ctx, g.input(name, 'float32', ['B']), k.c_r) : undefined })),
  };

  const kv = conditioningKv(ctx, part, () => condSilu, k.c_cond);

  // Embedding: PixelUnshuffle(p) → 1×1 conv → LayerNorm2d (channels-last [B,h/p,w/p,c0]).
  const p = k.patch_size;
  const c0 = k.c_hidden[0];
  const cIn = k.c_in * p * p;
  let h = pixelUnshuffleToNhwc(g, x, p);
  // Taken from the unshuffled input, a Reshape output no layout transform puts a Transpose in front of (a Shape
  // behind a Transpose becomes Gather(Shape) — int64 work onnxruntime runs on the CPU in a GPU session).
  const embeddedHW = shapeOf(g, h, 1, 3);
  h = layerNorm2d(ctx, ctx.linear(h, 'embedding.1', cIn, c0, true, [c0, cIn, 1, 1]), c0);

  // + effnet_mapper(resize(effnet → embedded size)): 1×1 conv → GELU → 1×1 conv → LayerNorm2d; `lnBias` (the folded
  // pixels term, a constant) rides in the LayerNormalization's bias input.
  const mapper = (v: string, prefix: string, cIn: number, lnBias?: string) => {
    const hidden = ctx.linear(v, `${prefix}.0`, cIn, 4 * c0, true, [4 * c0, cIn, 1, 1], { activation: 'gelu' });
    const y = ctx.linear(hidden, `${prefix}.2`, 4 * c0, c0, true, [c0, 4 * c0, 1, 1]);
    return lnBias ? layerNormAffine(g, y, g.constant('float32', [c0], new Float32Array(c0).fill(1)), lnBias, CASCADE_LN_EPS) : layerNorm2d(ctx, y, c0);
  };
  const effResized = nchwToNhwc(g, resizeBilinearAlignCorners(g, effnet, embeddedHW));
  h = g.node('Add', [h, mapper(effResized, 'effnet_mapper', k.c_effnet, pixels ? undefined : foldedPixelsBias(ctx, k.c_pixels, c0))]);

  // + resize(pixels_mapper(pixels) → embedded size).
  if (pixels) {
    // Full NCHW sizes (Concat of shapes: int64 work on the CPU in a GPU session, but only graphs that take pixels
    // as an input have it; the pipeline's fold it). Resize-19 `axes` here would meet onnxruntime 1.30's transpose
    // optimizer, which permutes a 2-element `sizes` behind a Transpose with a 4-element Gather.
    const mapped = nhwcToNchw(g, mapper(nchwToNhwc(g, pixels), 'pixels_mapper', k.c_pixels));
    const sizes = g.node('Concat', [shapeOf(g, mapped, 0, 2), embeddedHW], { axis: 0 });
    h = g.node('Add', [h, nchwToNhwc(g, g.node('Resize', [mapped, '', '', sizes], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }))]);
  }

  h = unetBody(ctx, k, h, { time, kv, fusedAttention: options.fusedAttention ?? false }, {
    mayMisalign: !options.alignedOnly,
    // down: LayerNorm2d → Conv k2 s2 (floors odd sizes); up: LayerNorm2d → ConvTranspose k2 s2.
    down: (v, i) => {
      const [ci, cp] = [k.c_hidden[i], k.c_hidden[i - 1]];
      const dtype = ctx.convWeightDtype(ci * cp * 4);
      const w = ctx.param(`down_downscalers.${i}.1.weight`, [ci, cp, 2, 2], undefined, dtype);
      const b = ctx.param(`down_downscalers.${i}.1.bias`, [ci]);
      return nchwToNhwc(g, conv(ctx, 'Conv', nhwcToNchw(g, layerNorm2d(ctx, v, cp)), w, b, dtype));
    },
    up: (v, j, level) => {
      const [ci, cp] = [k.c_hidden[level], k.c_hidden[level - 1]];
      const dtype = ctx.convWeightDtype(ci * cp * 4);
      const w = ctx.param(`up_upscalers.${j}.1.weight`, [ci, cp, 2, 2], undefined, dtype);
      const b = ctx.param(`up_upscalers.${j}.1.bias`, [cp]);
      return nchwToNhwc(g, conv(ctx, 'ConvTranspose', nhwcToNchw(g, layerNorm2d(ctx, v, ci)), w, b, dtype));
    },
  });

  const cOut = k.c_out * p * p;
  const out = ctx.linear(layerNorm2d(ctx, h, c0), 'clf.1', c0, cOut, true, [cOut, c0, 1, 1]);
  g.output(pixelShuffle(g, nhwcToNchw(g, out), p), 'output', 'float32', ['B', k.c_out, 'h', 'w']);
  return ctx;
}

/** Conditioning tokens [B, c_clip_seq, c_cond] = clip_norm(clip_mapper(clip [B,1,c_clip]) cut into tokens). */
function conditioningTokens(ctx: ModelContext, config: StageBConfig): string {
  const k = config.kwargs;
  const g = ctx.g;
  const clip = g.input('clip', 'float32', ['B', 1, k.c_clip]);
  const cc = k.c_cond;
  const tokens = g.node('Reshape', [ctx.linear(clip, 'clip_mapper', k.c_clip, cc * k.c_clip_seq), g.i64([0, k.c_clip_seq, cc])]);
  return layerNormLastAxis(g, tokens, cc, CASCADE_LN_EPS);
}

/** A kernel-2 stride-2 (transposed) convolution; an fp16 weight computes in fp16 and returns float32. */
function conv(ctx: ModelContext, op: 'Conv' | 'ConvTranspose', x: string, w: string, b: string, wDtype: 'float32' | 'float16'): string {
  const g = ctx.g;
  const attrs = { kernel_shape: [2, 2], strides: [2, 2] };
  if (wDtype === 'float32') return g.node(op, [x, w, b], attrs);
  const y = g.node(op, [g.node('Cast', [x], { to: 10 }), w], attrs);
  return g.node('Add', [g.node('Cast', [y], { to: 1 }), g.node('Reshape', [b, g.i64([1, -1, 1, 1])])]);
}

/** pixels_mapper applied to all-zero pixels: LN(W₂·GELU(b₁) + b₂), one [c0] vector (float64 math). */
function foldedPixelsBias(ctx: ModelContext, cPix: number, c0: number): string {
  return ctx.derived('pixels_mapper.folded', [c0], [
    ['pixels_mapper.0.weight', [4 * c0, cPix, 1, 1]],
    ['pixels_mapper.0.bias', [4 * c0]],
    ['pixels_mapper.2.weight', [c0, 4 * c0, 1, 1]],
    ['pixels_mapper.2.bias', [c0]],
  ], (_w1, b1, w2, b2) => {
    const hidden = Array.from(b1, (v) => 0.5 * v * (1 + erfPrecise(v / Math.SQRT2)));
    const y = new Float64Array(c0);
    for (let o = 0; o < c0; o++) {
      let s = b2[o];
      for (let i = 0; i < 4 * c0; i++) s += w2[o * 4 * c0 + i] * hidden[i];
      y[o] = s;
    }
    const mean = y.reduce((a, v) => a + v, 0) / c0;
    const variance = y.reduce((a, v) => a + (v - mean) ** 2, 0) / c0;
    const inv = 1 / Math.sqrt(variance + CASCADE_LN_EPS);
    return Float32Array.from(y, (v) => (v - mean) * inv);
  });
}

/** erf to ~1e-15 (Taylor series near 0, continued fraction for the tail). */
export function erfPrecise(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const z = Math.abs(x);
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return sign * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = exp(−z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + …))))
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (z + f);
  return sign * (1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f));
}
