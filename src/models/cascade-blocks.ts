/**
 * The building blocks shared by Stage C and Stage B (official modules/common.py): ResBlock "C", TimestepBlock
 * "T", AttnBlock "A", FeedForwardBlock "F", GlobalResponseNorm and the r embedding.
 *
 * Layout: activations are channels-last [B,H,W,C] between blocks. Every LayerNorm2d, Linear and GRN of these
 * models works on the channel axis, so channels-last turns them into last-axis ops; only convolutions switch
 * to [B,C,H,W] and back. Attention tokens are [B,H·W,C] in row-major pixel order, as the official
 * `x.view(B,C,-1).permute(0,2,1)` produces.
 */
import { layerNormLastAxis, nchwToNhwc, nhwcToNchw, silu, sinCosStacked } from '../onnx/ops.ts';
import type { ModelContext } from './model-context.ts';

/** eps of every LayerNorm2d and clip_norm in Stage B/C. */
export const CASCADE_LN_EPS = 1e-6;

/** LayerNorm2d (no affine) on channels-last x [B,H,W,C]. */
export function layerNorm2d(ctx: ModelContext, x: string, c: number): string {
  return layerNormLastAxis(ctx.g, x, c, CASCADE_LN_EPS);
}

/**
 * GlobalResponseNorm on x [B,H,W,C'] without its β: G = ‖x‖₂ over H,W per channel; N = G/(mean_C G + 1e-6);
 * γ·(x·N) + x = x·(γ·N + 1), so the full-size tensor sees one Mul (β is folded into the next Linear's bias by
 * channelwiseMlp). The spatial sum of squares runs in float32 (fp16 overflows at 16k positions).
 */
export function globalResponseNormScale(ctx: ModelContext, x: string, prefix: string, c: number): string {
  const g = ctx.g;
  const gx = g.node('ReduceL2', [x, g.i64([1, 2])], { keepdims: 1 }); // [B,1,1,C']
  // mean_C G + 1e-6 as one Gemm: [B,C'] · (1/C')·1 [C',1] + 1e-6 → [B,1].
  const meanEps = g.node('Gemm', [g.node('Reshape', [gx, g.i64([-1, c])]), g.f32(new Array<number>(c).fill(1 / c), [c, 1]), g.f32([1e-6], [1])]);
  const nx = g.node('Div', [gx, g.node('Reshape', [meanEps, g.i64([-1, 1, 1, 1])])]);
  const gamma = ctx.param(`${prefix}.gamma`, [1, 1, 1, c]);
  return g.node('Mul', [x, g.node('Add', [g.node('Mul', [gamma, nx]), g.f32([1], [])])]);
}

/**
 * Linear → GELU → GRN → Linear, plus the residual: `residual` + MLP(x), the channelwise MLP of ResBlock and
 * FeedForwardBlock (Sequential indices 0, 2, 4). x [B,H,W,C_in]; residual and `shapeOf` [B,H,W,C]. The first
 * Linear's bias rides in BiasGelu; GRN's β goes into the last Linear's bias, b' = b + W·β.
 *
 * `shapeOf` gives the last Linear its output shape. It must not be the output of a Transpose in our graph (a
 * block's input often is): under the WebGPU EP's NHWC layout onnxruntime rewrites Shape(Transpose(y)) into a
 * Gather of Shape(y), int64 work it places on the CPU. A LayerNormalization output is safe.
 */
function channelwiseMlp(ctx: ModelContext, x: string, prefix: string, cIn: number, c: number, residual: string, shapeOf: string): string {
  const hidden = 4 * c;
  let y = ctx.linear(x, `${prefix}.channelwise.0`, cIn, hidden, true, [hidden, cIn], { activation: 'gelu' });
  y = globalResponseNormScale(ctx, y, `${prefix}.channelwise.2`, hidden);
  const out = `${prefix}.channelwise.4`;
  // The weight is read last, so the layer's own read of it right after is served from ModelContext.read's cache.
  const bias = ctx.derived(`${out}.bias_grn_folded`, [c], [
    [`${out}.bias`, [c]], [`${prefix}.channelwise.2.beta`, [1, 1, 1, hidden]], [`${out}.weight`, [c, hidden]],
  ], (b4, beta, w4) => foldBiasThrough(ctx, b4, w4, beta, c, hidden));
  y = ctx.linearFrom(y, out, { name: `${out}.weight`, shape: [c, hidden] }, { initializer: bias }, hidden, c, { outShapeOf: shapeOf });
  return ctx.g.node('Add', [y, residual]);
}

/** b + W·β in float64, W [outF, inF] as the build's linear layer applies it (dequantized in int builds). */
function foldBiasThrough(ctx: ModelContext, b: Float32Array, w: Float32Array, beta: Float32Array, outF: number, inF: number): Float32Array {
  const we = ctx.effectiveLinearWeight(w, outF, inF);
  const out = new Float32Array(outF);
  for (let o = 0; o < outF; o++) {
    let s = b[o];
    for (let i = 0; i < inF; i++) s += we[o * inF + i] * beta[i];
    out[o] = s;
  }
  return out;
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
  const normed = layerNorm2d(ctx, nchwToNhwc(g, dw), c);
  const y = skip ? g.node('Concat', [normed, skip.value], { axis: -1 }) : normed;
  return channelwiseMlp(ctx, y, prefix, c + (skip?.c ?? 0), c, x, normed);
}

/** FeedForwardBlock: x + MLP(LN(x)). */
export function feedForwardBlock(ctx: ModelContext, x: string, prefix: string, c: number): string {
  const normed = layerNorm2d(ctx, x, c);
  return channelwiseMlp(ctx, normed, prefix, c, c, x, normed);
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

/** A TimestepBlock's modulation: x·a + b with a = 1 + (mapped a half), both [B,1,1,C]. */
export interface TimestepModulation {
  a: string;
  b: string;
}

/**
 * At most this many TimestepBlocks share one mapper matmul. Their Split has two outputs per block, and WebGPU
 * only guarantees 8 storage buffers per shader stage (the input and 6 outputs fit).
 */
const MAPPERS_PER_MATMUL = 3;

/**
 * The (a, b) of every TimestepBlock (`blocks`: state-dict prefix and channels, each block once): a, b = halves
 * of mapper(emb r) + Σ mapper_k(emb k). The mappers of up to MAPPERS_PER_MATMUL blocks run as one matmul on
 * [B,c_r] (weights stacked along the output), then one Split; repeat passes of a level reuse the result. The
 * constant parts — each mapper's bias, the folded zero conditions and the 1 of (1+a) — are one derived bias.
 */
export function timestepModulations(ctx: ModelContext, t: TimeConditioning, blocks: readonly { prefix: string; c: number }[]): Map<string, TimestepModulation> {
  const g = ctx.g;
  const cR = t.cR;
  const out = new Map<string, TimestepModulation>();
  for (let i = 0; i < blocks.length; i += MAPPERS_PER_MATMUL) {
    const group = blocks.slice(i, i + MAPPERS_PER_MATMUL);
    const width = group.reduce((s, b) => s + 2 * b.c, 0);
    const name = group.length === 1 ? `${group[0].prefix}.mapper` : `${group[0].prefix}.mapper_x${group.length}`;
    const stacked = (m: string) => group.map((b) => ({ name: `${b.prefix}.${m}.weight`, shape: [2 * b.c, cR] }));
    let ab = ctx.linearFrom(t.rEmbed, name, { stacked: stacked('mapper') }, { initializer: foldedMapperBias(ctx, t, group, `${name}.folded_bias_1a`) }, cR, width);
    for (const k of t.conds) {
      if (!k.embed) continue;
      const m = `mapper_${k.name}`;
      const bias = ctx.derived(`${name}_${k.name}.bias`, [width], group.map((b) => [`${b.prefix}.${m}.bias`, [2 * b.c]]), (...bs) => concat(bs));
      ab = g.node('Add', [ab, ctx.linearFrom(k.embed, `${name}_${k.name}`, { stacked: stacked(m) }, { initializer: bias }, cR, width)]);
    }
    const parts = g.nodeN('Split', [ab, g.i64(group.flatMap((b) => [b.c, b.c]))], { axis: -1 }, { outputs: 2 * group.length });
    group.forEach((b, j) => {
      const shape = g.i64([0, 1, 1, b.c]);
      out.set(b.prefix, { a: g.node('Reshape', [parts[2 * j], shape]), b: g.node('Reshape', [parts[2 * j + 1], shape]) });
    });
  }
  return out;
}

/**
 * Per block: mapper bias + Σ_k (W_k·emb(0) + b_k) over the conditions folded at 0, with emb(0) = [0…0, 1…1]
 * (W_k·emb(0) is the sum of W_k's last c_r/2 columns), plus 1 on the a half; blocks concatenated.
 */
function foldedMapperBias(ctx: ModelContext, t: TimeConditioning, group: readonly { prefix: string; c: number }[], graphName: string): string {
  const cR = t.cR;
  const folded = t.conds.filter((k) => !k.embed).map((k) => `mapper_${k.name}`);
  const sources: [string, readonly number[]][] = [];
  for (const b of group) {
    sources.push([`${b.prefix}.mapper.bias`, [2 * b.c]]);
    for (const m of folded) sources.push([`${b.prefix}.${m}.weight`, [2 * b.c, cR]], [`${b.prefix}.${m}.bias`, [2 * b.c]]);
  }
  const width = group.reduce((s, b) => s + 2 * b.c, 0);
  return ctx.derived(graphName, [width], sources, (...inputs) => {
    const out = new Float32Array(width);
    let at = 0;
    let next = 0;
    for (const b of group) {
      const sum = Float64Array.from(inputs[next++]);
      for (let o = 0; o < b.c; o++) sum[o] += 1;
      for (let f = 0; f < folded.length; f++) {
        const wk = inputs[next++];
        const bk = inputs[next++];
        for (let o = 0; o < 2 * b.c; o++) {
          let s = bk[o];
          for (let j = cR / 2; j < cR; j++) s += wk[o * cR + j];
          sum[o] += s;
        }
      }
      out.set(sum, at);
      at += 2 * b.c;
    }
    return out;
  });
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** TimestepBlock: x·(1+a) + b, x [B,H,W,C], with the 1 already in `m.a` (timestepModulations). */
export function timestepBlock(ctx: ModelContext, x: string, m: TimestepModulation): string {
  return ctx.g.node('Add', [ctx.g.node('Mul', [x, m.a]), m.b]);
}

/**
 * AttnBlock (self_attn: keys/values = [normed pixel tokens; kv]): x [B,H,W,C]; kv = kv_mapper(SiLU(cond
 * tokens)) [B,S,C], computed by the caller (in the same graph, or once per generation by the conditioning
 * graph — see cascade-unet.ts ConditioningKv).
 *
 * Folded constants (exact in real arithmetic): 1/√d is in q's weight and bias; k's bias adds q·b_k to every
 * score of a query row, which softmax cancels, so it is dropped; softmax rows sum to 1, so v's bias leaves
 * attention as b_v and goes into out_proj's bias, b_o' = b_o + W_o·b_v.
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
  const normed = layerNorm2d(ctx, x, c); // the output shape source (see channelwiseMlp)
  const n = g.node('Reshape', [normed, g.i64([0, -1, c])]);
  const keys = selfAttn ? g.node('Concat', [n, kv], { axis: 1 }) : kv;
  const attn = `${prefix}.attention.attn`;
  const inW = { name: `${attn}.in_proj_weight`, shape: [3 * c, c] };
  const inB = { name: `${attn}.in_proj_bias`, shape: [3 * c] };
  const qScale = 1 / Math.sqrt(c / nhead);
  const q = ctx.linearFrom(n, `${attn}.q`, { ...inW, scale: qScale }, { ...inB, scale: qScale }, c, c, { outShapeOf: n });
  const k = ctx.linearFrom(keys, `${attn}.k`, { ...inW, rowOffset: c }, undefined, c, c);
  const v = ctx.linearFrom(keys, `${attn}.v`, { ...inW, rowOffset: 2 * c }, undefined, c, c);
  const attended = multiHeadAttention(ctx, q, k, v, c, nhead, fused, 1);
  const out = `${attn}.out_proj`;
  const outBias = ctx.derived(`${out}.bias_v_folded`, [c], [[`${out}.bias`, [c]], [inB.name, inB.shape], [`${out}.weight`, [c, c]]],
    (bo, bIn, wo) => foldBiasThrough(ctx, bo, wo, bIn.subarray(2 * c, 3 * c), c, c));
  const y = ctx.linearFrom(attended, out, { name: `${out}.weight`, shape: [c, c] }, { initializer: outBias }, c, c, { outShapeOf: normed });
  return g.node('Add', [x, y]);
}

/**
 * softmax(scale·q·kᵀ)·v per head; scale defaults to 1/√d, 1 when q carries it. q [B,N,C], k/v [B,L,C] →
 * [B,N,C]. `fused` uses com.microsoft MultiHeadAttention (one kernel, flash attention on WebGPU); otherwise
 * plain MatMul/Softmax.
 */
export function multiHeadAttention(ctx: ModelContext, q: string, k: string, v: string, c: number, nhead: number, fused: boolean, scale = 1 / Math.sqrt(c / nhead)): string {
  const g = ctx.g;
  if (fused) return g.node('MultiHeadAttention', [q, k, v], { num_heads: nhead, scale: { float: scale } }, { domain: 'com.microsoft' });
  const d = c / nhead;
  const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, g.i64([0, 0, nhead, d])])], { perm });
  const qh = heads(q, [0, 2, 1, 3]); // [B,h,N,d]
  const kh = heads(k, [0, 2, 3, 1]); // [B,h,d,L]
  const vh = heads(v, [0, 2, 1, 3]); // [B,h,L,d]
  const qk = g.node('MatMul', [qh, kh]);
  const probs = g.node('Softmax', [scale === 1 ? qk : g.node('Mul', [qk, g.f32([scale], [])])], { axis: -1 });
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
 * with a three-part 2π (Cody–Waite: k = ⌊θ/2π + ½⌋; k·C1 is exact since C1 has 8 significant bits and
 * k ≤ 2¹¹, and so is θ − k·C1; ~3e-7 rad remains), then sin/cos come from polynomials (sinCosStacked). Which
 * way k goes at a tie does not matter: the reduced angle is ±π either way, inside the polynomials' range.
 * Each reduction step is one Gemm on the angles as a column [B·c_r/2, 1] (k·(−C) + θ: the product is exact or
 * rounded once, as with Mul then Sub), which keeps this ~30 kernels on tensors of a few hundred values.
 */
export function rEmbedding(ctx: ModelContext, r: string, cR: number): string {
  const g = ctx.g;
  if (cR % 2 !== 0) throw new Error(`c_r must be even (got ${cR})`);
  const half = cR / 2;
  const freqs = ctx.rFrequencies ?? rEmbeddingFrequencies(cR);
  if (freqs.length !== half) throw new Error(`r-embedding frequency table has ${freqs.length} entries, c_r ${cR} needs ${half}`);
  const scaled = g.node('Mul', [r, g.f32([10000], [])]);
  const angles = g.node('Mul', [g.node('Unsqueeze', [scaled, g.i64([1])]), g.f32(Array.from(freqs), [1, half])]); // [B,half]
  const column = g.node('Reshape', [angles, g.i64([-1, 1])]); // [B·half,1]
  const k = g.node('Floor', [g.node('Gemm', [column, g.f32([1 / (2 * Math.PI)], [1, 1]), g.f32([0.5], [1])])]);
  let reduced = column;
  for (const part of TWO_PI_PARTS) reduced = g.node('Gemm', [k, g.f32([-part], [1, 1]), reduced]);
  const stacked = sinCosStacked(g, g.node('Reshape', [reduced, g.i64([-1, 1, half])])); // [B,2,half]
  return g.node('Reshape', [stacked, g.i64([-1, cR])]);
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
