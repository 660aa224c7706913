/**
 * Small compositions of ONNX ops that many graphs share. Activation layout notes are in each doc comment.
 */
import type { Graph } from './graph.ts';

/** LayerNormalization over the last axis without affine parameters (scale = ones, no bias), float32 stats. */
export function layerNormLastAxis(g: Graph, x: string, channels: number, eps: number): string {
  const ones = g.constant('float32', [channels], new Float32Array(channels).fill(1));
  return g.node('LayerNormalization', [x, ones], { axis: -1, epsilon: { float: eps } });
}

/** LayerNormalization over the last axis with affine weight and bias initializers. */
export function layerNormAffine(g: Graph, x: string, weight: string, bias: string, eps: number): string {
  return g.node('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: { float: eps } });
}

/** Exact (erf) GELU: 0.5·x·(1 + erf(x/√2)); onnxruntime fuses this pattern into its Gelu kernel. */
export function gelu(g: Graph, x: string): string {
  const erf = g.node('Erf', [g.node('Mul', [x, g.f32([Math.SQRT1_2], [])])]);
  return g.node('Mul', [g.node('Mul', [x, g.f32([0.5], [])]), g.node('Add', [erf, g.f32([1], [])])]);
}

export function silu(g: Graph, x: string): string {
  return g.node('Mul', [x, g.node('Sigmoid', [x])]);
}

/** [B,C,H,W] → [B,H,W,C] */
export function nchwToNhwc(g: Graph, x: string): string {
  return g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
}

/** [B,H,W,C] → [B,C,H,W] */
export function nhwcToNchw(g: Graph, x: string): string {
  return g.node('Transpose', [x], { perm: [0, 3, 1, 2] });
}

/** Shape of `x` as an int64 tensor, optionally a slice [start, end). */
export function shapeOf(g: Graph, x: string, start?: number, end?: number): string {
  const attrs: Record<string, number> = {};
  if (start !== undefined) attrs.start = start;
  if (end !== undefined) attrs.end = end;
  return g.node('Shape', [x], attrs);
}

/** Bilinear resize of an NCHW tensor to `sizeHW` (int64 [2]), PyTorch align_corners=True semantics. */
export function resizeBilinearAlignCorners(g: Graph, x: string, sizeHW: string): string {
  const sizes = g.node('Concat', [shapeOf(g, x, 0, 2), sizeHW], { axis: 0 });
  return g.node('Resize', [x, '', '', sizes], {
    mode: 'linear',
    coordinate_transformation_mode: 'align_corners',
  });
}

/**
 * PyTorch PixelUnshuffle(r) on NCHW: out[c·r² + i·r + j, h, w] = in[c, h·r+i, w·r+j].
 * (ONNX SpaceToDepth orders channels differently, hence the explicit reshape/transpose.)
 */
export function pixelUnshuffle(g: Graph, x: string, r: number): string {
  if (r === 1) return x;
  const [b, c, h, w] = ['B', 'C', 'H', 'W'].map((_, i) => g.node('Gather', [shapeOf(g, x), g.i64([i], [])], { axis: 0 }));
  const div = (v: string) => g.node('Div', [v, g.i64([r], [])]);
  const unsq = (v: string) => g.node('Unsqueeze', [v, g.i64([0])]);
  const rr = g.i64([r]);
  const s1 = g.node('Concat', [unsq(b), unsq(c), unsq(div(h)), rr, unsq(div(w)), rr], { axis: 0 });
  const t = g.node('Transpose', [g.node('Reshape', [x, s1])], { perm: [0, 1, 3, 5, 2, 4] });
  const s2 = g.node('Concat', [unsq(b), g.node('Mul', [unsq(c), g.i64([r * r])]), unsq(div(h)), unsq(div(w))], { axis: 0 });
  return g.node('Reshape', [t, s2]);
}

/** PyTorch PixelShuffle(r) on NCHW = DepthToSpace mode CRD. */
export function pixelShuffle(g: Graph, x: string, r: number): string {
  if (r === 1) return x;
  return g.node('DepthToSpace', [x], { blocksize: r, mode: 'CRD' });
}

/**
 * sin and cos of x ∈ [−π, π] from their Taylor series (Horner in float32, terms to x²¹ / x²²; truncation
 * < 1e-11, rounding ~3e-7). GPU trig builtins only promise ~2⁻¹¹ absolute accuracy (Vulkan/WGSL precision
 * rules; SwiftShader measured 1.9e-4), far too coarse for the timestep embedding; plain Mul/Add are exact
 * float32 everywhere.
 */
export function sinCosReduced(g: Graph, x: string): { sin: string; cos: string } {
  const u = g.node('Mul', [x, x]);
  const horner = (coefs: number[]) => {
    let p = g.f32([coefs[coefs.length - 1]], []);
    for (let i = coefs.length - 2; i >= 0; i--) p = g.node('Add', [g.node('Mul', [p, u]), g.f32([coefs[i]], [])]);
    return p;
  };
  const fact = (n: number) => { let f = 1; for (let i = 2; i <= n; i++) f *= i; return f; };
  const sinCoefs = Array.from({ length: 11 }, (_, n) => (n % 2 ? -1 : 1) / fact(2 * n + 1));
  const cosCoefs = Array.from({ length: 12 }, (_, n) => (n % 2 ? -1 : 1) / fact(2 * n));
  return { sin: g.node('Mul', [x, horner(sinCoefs)]), cos: horner(cosCoefs) };
}
