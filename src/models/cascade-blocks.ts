/**
 * The building blocks shared by Stage C and Stage B (official modules/common.py): ResBlock "C", TimestepBlock
 * "T", AttnBlock "A", FeedForwardBlock "F", GlobalResponseNorm and the r embedding.
 *
 * Layout: activations are channels-last [B,H,W,C] between blocks. Every LayerNorm2d, Linear and GRN of these
 * models works on the channel axis, so channels-last turns them into last-axis ops; only convolutions switch
 * to [B,C,H,W] and back. Attention tokens are [B,H·W,C] in row-major pixel order, as the official
 * `x.view(B,C,-1).permute(0,2,1)` produces.
 */
import { gelu, layerNormLastAxis, nchwToNhwc, nhwcToNchw, roundHalfEven, silu, sinCosReduced } from '../onnx/ops.ts';
import type { ModelContext } from './model-context.ts';

/** eps of every LayerNorm2d and clip_norm in Stage B/C. */
export const CASCADE_LN_EPS = 1e-6;

/** LayerNorm2d (no affine) on channels-last x [B,H,W,C]. */
export function layerNorm2d(ctx: ModelContext, x: string, c: number): string {
  return layerNormLastAxis(ctx.g, x, c, CASCADE_LN_EPS);
}

/**
 * GlobalResponseNorm on x [B,H,W,C']: G = ‖x‖₂ over H,W per channel; N = G/(mean_C G + 1e-6);
 * γ·(x·N) + β + x. The spatial sum of squares runs in float32 (fp16 overflows at 16k positions).
 */
export function globalResponseNorm(ctx: ModelContext, x: string, prefix: string, c: number): string {
  const g = ctx.g;
  const gx = g.node('ReduceL2', [x, g.i64([1, 2])], { keepdims: 1 });
  const mean = g.node('ReduceMean', [gx, g.i64([-1])], { keepdims: 1 });
  const nx = g.node('Div', [gx, g.node('Add', [mean, g.f32([1e-6], [])])]);
  const gamma = ctx.param(`${prefix}.gamma`, [1, 1, 1, c]);
  const beta = ctx.param(`${prefix}.beta`, [1, 1, 1, c]);
  return g.node('Add', [g.node('Add', [g.node('Mul', [gamma, g.node('Mul', [x, nx])]), beta]), x]);
}

/** Linear → GELU → GRN → Linear, the channelwise MLP of ResBlock and FeedForwardBlock (Sequential indices 0,2,4). */
function channelwiseMlp(ctx: ModelContext, x: string, prefix: string, cIn: number, c: number): string {
  let y = ctx.linear(x, `${prefix}.channelwise.0`, cIn, 4 * c);
  y = gelu(ctx.g, y);
  y = globalResponseNorm(ctx, y, `${prefix}.channelwise.2`, 4 * c);
  return ctx.linear(y, `${prefix}.channelwise.4`, 4 * c, c);
}

/**
 * ResBlock: x + MLP(concat(LN(depthwise(x)), skip)). x [B,H,W,C]; skip [B,H,W,C_skip] (not normalised).
 */
export function resBlock(ctx: ModelContext, x: string, prefix: string, c: number, kernel: number, skip?: { value: string; c: number }): string {
  const g = ctx.g;
  const w = ctx.param(`${prefix}.depthwise.weight`, [c, 1, kernel, kernel]);
  const b = ctx.param(`${prefix}.depthwise.bias`, [c]);
  const pad = Math.floor(kernel / 2);
  const dw = g.node('Conv', [nhwcToNchw(g, x), w, b], { group: c, kernel_shape: [kernel, kernel], pads: [pad, pad, pad, pad] });
  let y = layerNorm2d(ctx, nchwToNhwc(g, dw), c);
  if (skip) y = g.node('Concat', [y, skip.value], { axis: -1 });
  return g.node('Add', [channelwiseMlp(ctx, y, prefix, c + (skip?.c ?? 0), c), x]);
}

/** FeedForwardBlock: x + MLP(LN(x)). */
export function feedForwardBlock(ctx: ModelContext, x: string, prefix: string, c: number): string {
  return ctx.g.node('Add', [x, channelwiseMlp(ctx, layerNorm2d(ctx, x, c), prefix, c, c)]);
}

/**
 * The timestep conditioning every TimestepBlock reads: the r embedding [B,c_r] plus, per t_cond, either its
 * embedding [B,c_r] (an input) or nothing when the condition is the constant 0 used at inference — then
 * each block folds mapper_<cond>(emb(0)) into its bias (emb(0) = [0×c_r/2, 1×c_r/2]).
 */
export interface TimeConditioning {
  cR: number;
  rEmbed: string;
  conds: { name: string; embed?: string }[];
}

/** TimestepBlock: a, b = halves of mapper(emb r) + Σ mapper_k(emb k); x·(1+a) + b. x [B,H,W,C]. */
export function timestepBlock(ctx: ModelContext, x: string, prefix: string, c: number, t: TimeConditioning): string {
  const g = ctx.g;
  const cR = t.cR;
  let ab = ctx.linear(t.rEmbed, `${prefix}.mapper`, cR, 2 * c, false);
  const foldedConds = t.conds.filter((k) => !k.embed).map((k) => `${prefix}.mapper_${k.name}`);
  for (const k of t.conds) {
    if (k.embed) ab = g.node('Add', [ab, ctx.linear(k.embed, `${prefix}.mapper_${k.name}`, cR, 2 * c)]);
  }
  const sources: [string, readonly number[]][] = [[`${prefix}.mapper.bias`, [2 * c]]];
  for (const m of foldedConds) sources.push([`${m}.weight`, [2 * c, cR]], [`${m}.bias`, [2 * c]]);
  // bias + Σ_k (W_k·emb(0) + b_k), with emb(0) = [0…0, 1…1]: W_k·emb(0) is the sum of W_k's last c_r/2 columns.
  const bias = ctx.derived(`${prefix}.mapper.folded_bias`, [2 * c], sources, (b0, ...rest) => {
    const out = Float64Array.from(b0);
    for (let i = 0; i < rest.length; i += 2) {
      const wk = rest[i];
      const bk = rest[i + 1];
      for (let o = 0; o < 2 * c; o++) {
        let s = bk[o];
        for (let j = cR / 2; j < cR; j++) s += wk[o * cR + j];
        out[o] += s;
      }
    }
    return Float32Array.from(out);
  });
  ab = g.node('Add', [ab, bias]);
  const shape = g.i64([0, 1, 1, 2 * c]);
  const ab4 = g.node('Reshape', [ab, shape]);
  const [a, b] = g.nodeN('Split', [ab4, g.i64([c, c])], { axis: -1 }, { outputs: 2 });
  return g.node('Add', [g.node('Mul', [x, g.node('Add', [a, g.f32([1], [])])]), b]);
}

/**
 * AttnBlock (self_attn: keys/values = [normed pixel tokens; kv]): x [B,H,W,C]; kv = kv_mapper(SiLU(cond
 * tokens)) [B,S,C], computed by the caller (in the same graph, or once per generation by the conditioning
 * graph — see cascade-unet.ts ConditioningKv).
 */
export function attnBlock(
  ctx: ModelContext,
  x: string,
  prefix: string,
  c: number,
  nhead: number,
  kv: string,
  selfAttn: boolean,
  fused: boolean,
): string {
  const g = ctx.g;
  const n = g.node('Reshape', [layerNorm2d(ctx, x, c), g.i64([0, -1, c])]);
  const keys = selfAttn ? g.node('Concat', [n, kv], { axis: 1 }) : kv;
  const inW = { name: `${prefix}.attention.attn.in_proj_weight`, shape: [3 * c, c] };
  const inB = { name: `${prefix}.attention.attn.in_proj_bias`, shape: [3 * c] };
  const proj = (src: string, i: number, tag: string) =>
    ctx.linearFrom(src, `${prefix}.attention.attn.${tag}`, { ...inW, rowOffset: i * c }, { ...inB, offset: i * c }, c, c);
  const q = proj(n, 0, 'q');
  const k = proj(keys, 1, 'k');
  const v = proj(keys, 2, 'v');
  const attended = multiHeadAttention(ctx, q, k, v, c, nhead, fused);
  const out = ctx.linear(attended, `${prefix}.attention.attn.out_proj`, c, c);
  return g.node('Add', [x, g.node('Reshape', [out, g.node('Shape', [x])])]);
}

/**
 * softmax(q·kᵀ/√d)·v per head. q [B,N,C], k/v [B,L,C] → [B,N,C]. `fused` uses com.microsoft
 * MultiHeadAttention (one kernel, flash attention on WebGPU); otherwise plain MatMul/Softmax.
 */
export function multiHeadAttention(ctx: ModelContext, q: string, k: string, v: string, c: number, nhead: number, fused: boolean): string {
  const g = ctx.g;
  if (fused) return g.node('MultiHeadAttention', [q, k, v], { num_heads: nhead }, { domain: 'com.microsoft' });
  const d = c / nhead;
  const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, g.i64([0, 0, nhead, d])])], { perm });
  const qh = heads(q, [0, 2, 1, 3]); // [B,h,N,d]
  const kh = heads(k, [0, 2, 3, 1]); // [B,h,d,L]
  const vh = heads(v, [0, 2, 1, 3]); // [B,h,L,d]
  const scores = g.node('Mul', [g.node('MatMul', [qh, kh]), g.f32([1 / Math.sqrt(d)], [])]);
  const probs = g.node('Softmax', [scores], { axis: -1 });
  const o = g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] });
  return g.node('Reshape', [o, g.i64([0, 0, c])]);
}

/**
 * gen_r_embedding: r [B] → [B,c_r] = [sin(r·10⁴·f_k), cos(r·10⁴·f_k)], f_k = exp(−k·ln(10⁴)/(c_r/2 − 1)).
 * The table is float64 exp rounded to float32, which is what PyTorch's scalar kernels compute; r·10⁴ and the
 * product are float32 as in PyTorch (one ulp of r moves the angle by ~6e-4, so nothing here may be fp16).
 *
 * Angles reach 10⁴ rad and GPU sin/cos are coarse (WGSL allows 2⁻¹¹ absolute error; SwiftShader is off by
 * 1.9e-4), so neither the builtin nor large arguments are used: the angle is reduced modulo 2π in float32
 * with a three-part 2π (Cody–Waite: k = round(θ/2π); k·C1 is exact since C1 has 8 significant bits and
 * k ≤ 2¹¹, and so is θ − k·C1; ~3e-7 rad remains), then sin/cos come from polynomials (sinCosReduced).
 */
export function rEmbedding(ctx: ModelContext, r: string, cR: number): string {
  const g = ctx.g;
  if (cR % 2 !== 0) throw new Error(`c_r must be even (got ${cR})`);
  const half = cR / 2;
  const freqs = ctx.rFrequencies ?? rEmbeddingFrequencies(cR);
  if (freqs.length !== half) throw new Error(`r-embedding frequency table has ${freqs.length} entries, c_r ${cR} needs ${half}`);
  const scaled = g.node('Mul', [r, g.f32([10000], [])]);
  const angles = g.node('Mul', [g.node('Unsqueeze', [scaled, g.i64([1])]), g.f32(Array.from(freqs), [1, half])]);
  const [c1, c2, c3] = TWO_PI_PARTS;
  const k = roundHalfEven(g, g.node('Mul', [angles, g.f32([1 / (2 * Math.PI)], [])])); // = Round, on the GPU EP
  let reduced = g.node('Sub', [angles, g.node('Mul', [k, g.f32([c1], [])])]);
  reduced = g.node('Sub', [reduced, g.node('Mul', [k, g.f32([c2], [])])]);
  reduced = g.node('Sub', [reduced, g.node('Mul', [k, g.f32([c3], [])])]);
  const { sin, cos } = sinCosReduced(g, reduced);
  return g.node('Concat', [sin, cos], { axis: 1 });
}

/** 2π = C1 + C2 + C3 with C1 = 201/32 exact in 8 bits, C2 = float32(2π − C1), C3 = float32(the rest). */
const TWO_PI_PARTS: readonly [number, number, number] = (() => {
  const c1 = 6.28125;
  const c2 = Math.fround(2 * Math.PI - c1);
  const c3 = Math.fround(2 * Math.PI - c1 - c2);
  return [c1, c2, c3];
})();

export function rEmbeddingFrequencies(cR: number): Float32Array {
  const half = cR / 2;
  const step = Math.fround(Math.log(10000) / (half - 1));
  return Float32Array.from({ length: half }, (_, k) => Math.exp(-Math.fround(k * step)));
}

export function siluTokens(ctx: ModelContext, cond: string): string {
  return silu(ctx.g, cond);
}

/** An AttnBlock's kv_mapper: SiLU(cond) [B,S,c_cond] → [B,S,C] (Sequential index 1 is the Linear). */
export function kvMapper(ctx: ModelContext, condSilu: string, prefix: string, cCond: number, c: number): string {
  return ctx.linear(condSilu, `${prefix}.kv_mapper.1`, cCond, c);
}
