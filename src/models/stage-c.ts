/**
 * Stage C (the text-conditional prior) as an ONNX graph, from an official StageC config.
 *
 * Graph inputs: x [B,16,h,w], r [B], clip_text [B,S,c_clip_text], clip_text_pooled [B,1,c_clip_text_pooled],
 * and — unless folded — clip_img [B,1,c_clip_img], sca [B], crp [B]. Output: output [B,16,h,w] (ε).
 *
 * Folding (the text-to-image defaults): clip_img is all zeros, so clip_img_mapper(clip_img) is its bias cut into
 * c_clip_seq tokens — a constant; sca/crp are 0, so their TimestepBlock mappers reduce to constant biases.
 */
import { pixelShuffle, pixelUnshuffleToNhwc, nhwcToNchw, resizeBilinearAlignCornersByScale, shapeOf } from '../onnx/ops.ts';
import { CASCADE_LN_EPS, layerNorm2d, rEmbedding, siluTokens, type TimeConditioning } from './cascade-blocks.ts';
import type { StageCConfig } from './cascade-config.ts';
import { conditioningKv, conditioningOutputs, unetBody, type CascadePart } from './cascade-unet.ts';
import { ModelContext, type BuildOptions } from './model-context.ts';
import { layerNormLastAxis } from '../onnx/ops.ts';

export interface CascadeBuildOptions extends BuildOptions {
  /** Take the zero-valued conditions (clip_img / pixels, sca, crp) as graph inputs instead of folding them. */
  conditionInputs?: boolean;
  /** Which graph to build (cascade-unet.ts CascadePart); default 'full'. */
  part?: CascadePart;
  /**
   * com.microsoft MultiHeadAttention instead of MatMul/Softmax. Off by default: onnxruntime-web's WebGPU
   * MultiHeadAttention (1.30 and 1.31.1) returns wrong results here (e2e/webgpu-op-accuracy.test.ts: 0.4–0.9
   * relative error, with key length ≠ query length and also =) from its subgroup path — with the adapter's
   * `subgroups` feature hidden from onnxruntime it is exact — while the plain form is exact on every backend.
   */
  fusedAttention?: boolean;
}

export function buildStageC(config: StageCConfig, options: CascadeBuildOptions = {}): ModelContext {
  const k = config.kwargs;
  const part = options.part ?? 'full';
  const ctx = new ModelContext(part === 'conditioning' ? 'stage_c_cond' : 'stage_c', { ...options, partial: part !== 'full' });
  const g = ctx.g;
  const withInputs = options.conditionInputs ?? false;
  if (part === 'conditioning') {
    conditioningOutputs(ctx, k, siluTokens(ctx, conditioningTokens(ctx, config, withInputs)));
    return ctx;
  }
  const x = g.input('x', 'float32', ['B', k.c_in, 'h', 'w']);
  const r = g.input('r', 'float32', ['B']);
  const condSilu = part === 'full' ? siluTokens(ctx, conditioningTokens(ctx, config, withInputs)) : '';
  const time: TimeConditioning = {
    cR: k.c_r,
    rEmbed: rEmbedding(ctx, r, k.c_r),
    conds: k.t_conds.map((name) => ({ name, embed: withInputs ? rEmbedding(ctx, g.input(name, 'float32', ['B']), k.c_r) : undefined })),
  };
  const kv = conditioningKv(ctx, part, () => condSilu, k.c_cond);

  // Embedding: PixelUnshuffle(p) → 1×1 conv → LayerNorm2d, in channels-last.
  const p = k.patch_size;
  const c0 = k.c_hidden[0];
  let h = pixelUnshuffleToNhwc(g, x, p);
  h = layerNorm2d(ctx, ctx.linear(h, 'embedding.1', k.c_in * p * p, c0, true, [c0, k.c_in * p * p, 1, 1]), c0);

  const switchLevel = k.switch_level;
  h = unetBody(ctx, k, h, { time, kv, fusedAttention: options.fusedAttention ?? false }, {
    mayMisalign: false,
    // UpDownBlock2d: down = [1×1 conv, resample ×0.5]; up = [resample ×2, 1×1 conv]; resampling only if switch_level.
    // With equal widths (the released configs) the LayerNorm output has the 1×1 conv's output shape, which lets it
    // run as one Gemm (ModelContext.linearFrom `outShapeOf`).
    down: (v, i) => {
      const ci = k.c_hidden[i];
      const cp = k.c_hidden[i - 1];
      const normed = layerNorm2d(ctx, v, cp);
      let y = ctx.linear(normed, `down_downscalers.${i}.1.blocks.0`, cp, ci, true, [ci, cp, 1, 1], { outShapeOf: ci === cp ? normed : undefined });
      if (switchLevel[i - 1]) y = resampleNhwc(ctx, y, 0.5);
      return y;
    },
    up: (v, j, level) => {
      const ci = k.c_hidden[level];
      const cp = k.c_hidden[level - 1];
      const normed = layerNorm2d(ctx, v, ci);
      const y = switchLevel[level - 1] ? resampleNhwc(ctx, normed, 2) : normed;
      return ctx.linear(y, `up_upscalers.${j}.1.blocks.1`, ci, cp, true, [cp, ci, 1, 1], { outShapeOf: ci === cp && y === normed ? normed : undefined });
    },
  });

  // clf: LayerNorm2d → 1×1 conv → PixelShuffle(p).
  const cOut = k.c_out * p * p;
  const out = ctx.linear(layerNorm2d(ctx, h, c0), 'clf.1', c0, cOut, true, [cOut, c0, 1, 1]);
  g.output(pixelShuffle(g, nhwcToNchw(g, out), p), 'output', 'float32', ['B', k.c_out, 'h', 'w']);
  return ctx;
}

/**
 * Conditioning tokens [B, S + 2·c_clip_seq, c_cond] = clip_norm(text tokens, pooled tokens, image tokens), from
 * inputs clip_text [B,S,c_clip_text], clip_text_pooled [B,1,·] and (unless folded to its constant) clip_img.
 */
function conditioningTokens(ctx: ModelContext, config: StageCConfig, withClipImg: boolean): string {
  const k = config.kwargs;
  const g = ctx.g;
  const clipText = g.input('clip_text', 'float32', ['B', 'S', k.c_clip_text]);
  const clipPooled = g.input('clip_text_pooled', 'float32', ['B', 1, k.c_clip_text_pooled]);
  const cc = k.c_cond;
  const seq = k.c_clip_seq;
  const txt = ctx.linear(clipText, 'clip_txt_mapper', k.c_clip_text, cc);
  const pooled = g.node('Reshape', [ctx.linear(clipPooled, 'clip_txt_pooled_mapper', k.c_clip_text_pooled, cc * seq), g.i64([0, seq, cc])]);
  let img: string;
  if (withClipImg) {
    const clipImg = g.input('clip_img', 'float32', ['B', 1, k.c_clip_img]);
    img = g.node('Reshape', [ctx.linear(clipImg, 'clip_img_mapper', k.c_clip_img, cc * seq), g.i64([0, seq, cc])]);
  } else {
    ctx.expect('clip_img_mapper.weight', [cc * seq, k.c_clip_img]);
    const bias = ctx.param('clip_img_mapper.bias', [cc * seq], [1, seq, cc]);
    img = g.node('Expand', [bias, shapeOf(g, pooled)]); // the constant tokens, broadcast over the batch
  }
  return layerNormLastAxis(g, g.node('Concat', [txt, pooled, img], { axis: 1 }), cc, CASCADE_LN_EPS);
}

/** nn.Upsample(scale_factor, bilinear, align_corners=True) on channels-last x: size = floor(size·scale). */
function resampleNhwc(ctx: ModelContext, x: string, scale: number): string {
  const g = ctx.g;
  return resizeBilinearAlignCornersByScale(g, x, scale, 'NHWC');
}
