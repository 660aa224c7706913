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

/**
 * Exact (erf) GELU, 0.5·x·(1 + erf(x/√2)), as the ONNX Gelu-20 op (approximate 'none'): one kernel on the WebGPU
 * EP, onnxruntime-node and WASM alike (the Erf/Mul/Add form is five on WebGPU, where onnxruntime does not fuse it).
 */
export function gelu(g: Graph, x: string): string {
  return g.node('Gelu', [x]);
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

/**
 * Bilinear resize of an NCHW tensor to `sizeHW` (int64 [2], e.g. a Shape slice), PyTorch align_corners=True
 * semantics. Resize-19's `axes` takes the two sizes as they are: concatenating [B,C] in front would be int64
 * arithmetic, which onnxruntime runs on the CPU inside a GPU session.
 */
export function resizeBilinearAlignCorners(g: Graph, x: string, sizeHW: string): string {
  return g.node('Resize', [x, '', '', sizeHW], {
    mode: 'linear',
    coordinate_transformation_mode: 'align_corners',
    axes: [2, 3],
  });
}

/** As resizeBilinearAlignCorners with output size floor(size·scale) on H and W (a constant, no shape ops). */
export function resizeBilinearAlignCornersByScale(g: Graph, x: string, scale: number, layout: 'NCHW' | 'NHWC' = 'NCHW'): string {
  return g.node('Resize', [x, '', g.f32([scale, scale], [2])], {
    mode: 'linear',
    coordinate_transformation_mode: 'align_corners',
    axes: layout === 'NCHW' ? [2, 3] : [1, 2],
  });
}

/**
 * PyTorch PixelUnshuffle(r) on NCHW, returned channels-last: out[b, h, w, c·r² + i·r + j] = in[b, c, h·r+i, w·r+j].
 * (ONNX SpaceToDepth orders channels differently.) Only constant reshape targets (0 = keep that input dim, −1 =
 * the rest), so no shape arithmetic, which onnxruntime would run on the CPU inside a GPU session:
 *   [B,C,H,W] → [B,C,H,W/r,j] → [B,C,j,W/r,H] → [B,C,j,W/r,H/r,i] → [B,H/r,W/r,C,i,j] → [B,H/r,W/r,C·r²]
 */
export function pixelUnshuffleToNhwc(g: Graph, x: string, r: number): string {
  if (r === 1) return nchwToNhwc(g, x);
  const a = g.node('Transpose', [g.node('Reshape', [x, g.i64([0, 0, 0, -1, r])])], { perm: [0, 1, 4, 3, 2] });
  const b = g.node('Transpose', [g.node('Reshape', [a, g.i64([0, 0, 0, 0, -1, r])])], { perm: [0, 4, 3, 1, 5, 2] });
  return g.node('Reshape', [b, g.i64([0, 0, 0, -1])]);
}

/** PyTorch PixelShuffle(r) on NCHW = DepthToSpace mode CRD. */
export function pixelShuffle(g: Graph, x: string, r: number): string {
  if (r === 1) return x;
  return g.node('DepthToSpace', [x], { blocksize: r, mode: 'CRD' });
}

/**
 * [sin x; cos x] of x [..., 1, n] ∈ [−π, π] as [..., 2, n], from their Taylor series to x¹⁹ / x²⁰ (truncation
 * < 6e-10, rounding ~3e-7) in float32 Horner form. Both polynomials are in u = x² and run as one stacked Horner
 * chain (coefficients [2,1]; sin's top one is 0), then the sin row is multiplied by x: 22 elementwise kernels.
 * GPU trig builtins only promise ~2⁻¹¹ absolute accuracy (Vulkan/WGSL precision rules; SwiftShader measured
 * 1.9e-4), far too coarse for the timestep embedding; plain Mul/Add are exact float32 everywhere.
 */
export function sinCosStacked(g: Graph, x: string): string {
  const u = g.node('Mul', [x, x]);
  const fact = (n: number) => { let f = 1; for (let i = 2; i <= n; i++) f *= i; return f; };
  const terms = 11;
  const sinCoef = (n: number) => (n < terms - 1 ? (n % 2 ? -1 : 1) / fact(2 * n + 1) : 0);
  const cosCoef = (n: number) => (n % 2 ? -1 : 1) / fact(2 * n);
  const coefs = (n: number) => g.f32([sinCoef(n), cosCoef(n)], [2, 1]);
  let p = coefs(terms - 1);
  for (let n = terms - 2; n >= 0; n--) p = g.node('Add', [g.node('Mul', [p, u]), coefs(n)]);
  const sinRowIsX = g.node('Cast', [g.constant('uint8', [2, 1], [1, 0])], { to: 9 }); // bool; folded at load
  return g.node('Mul', [p, g.node('Where', [sinRowIsX, x, g.f32([1], [])])]);
}

/**
 * Round half to even (numpy / ONNX Round) from ops every GPU EP has: onnxruntime's WebGPU EP has no Round kernel,
 * so a Round node runs on the CPU (a GPU→CPU→GPU round trip). Exact for |x| < 2^23: Floor, x − Floor(x), 0.5·r
 * and 2·Floor(·) are exact in float32, so no step depends on the rounding mode of the GPU.
 *   r = ⌊x⌋, f = x − r, up = (f == ½) ? (r mod 2) : (f > ½), out = r + up
 */
export function roundHalfEven(g: Graph, x: string): string {
  const r = g.node('Floor', [x]);
  const f = g.node('Sub', [x, r]);
  const half = g.f32([0.5], []);
  const odd = g.node('Sub', [r, g.node('Mul', [g.node('Floor', [g.node('Mul', [r, half])]), g.f32([2], [])])]);
  const above = g.node('Cast', [g.node('Greater', [f, half])], { to: 1 });
  return g.node('Add', [r, g.node('Where', [g.node('Equal', [f, half]), odd, above])]);
}
