/**
 * Stage C latent → a small false-colour RGB preview, as one weightless graph (run while Stage C samples, so
 * the page can show that something is forming; src/pipeline/preview.ts drives it).
 *
 * What it is fed: the sampler's x0 prediction of the step, not the running latent x_t. x_t is mostly the
 * injected noise until the last steps (at r ≈ 1 it *is* noise), so a projection of it shows static that slowly
 * clears; x0 = (x_t − b·ε̂)/a is the network's current estimate of the clean latent — the thing the official
 * sampler returns at the end — so the preview shows the layout from the first steps and sharpens as the
 * estimate improves.
 *
 * The 16 → 3 map is NOT a calibrated latent→RGB decoder. Stable Cascade's Stage C latent is an
 * EfficientNetV2-S feature map (a 1×1 conv to 16 channels + affine-free BatchNorm in the official effnet
 * mapper), and the true colours only come out of Stage B + Stage A. Real per-channel colour factors would have
 * to be fitted on (latent, image) pairs of the real checkpoints (or taken from the official ~4M-parameter
 * `previewer` network); neither is available offline here, and we do not copy third-party fitted tables. So the
 * map is a fixed orthonormal mix of all 16 channels — rows 1, 2 and 3 of the Sylvester–Hadamard matrix of
 * order 16, scaled by 1/4 — followed by a per-image, per-colour-channel normalization. Colours are therefore
 * arbitrary ("false colour"); shapes, edges and regions are what the preview conveys. Swapping in fitted
 * factors later means changing PREVIEW_PROJECTION only.
 * (Row 0, the all-ones channel mean, is left out: every image has its own offset, which the normalization
 * would remove anyway, and the three alternating rows carry more contrast.)
 *
 * Math, per image b and colour c (p = Σ_k PREVIEW_PROJECTION[c][k] · x[b,k,y,x]):
 *   μ = mean_{y,x} p,  σ = sqrt(mean_{y,x} (p − μ)²)   (population std)
 *   rgb = round_half_even(clamp((p − μ) / (2·PREVIEW_SIGMAS·σ + PREVIEW_EPS) + 0.5, 0, 1) · 255)
 * i.e. μ ± PREVIEW_SIGMAS·σ spans 0…255; a constant channel is mid-grey (128).
 * Input: latent [B,16,H,W] float32. Output: rgb [B,H,W,3] uint8 (channels-last, like to_rgb8).
 */
import { Graph } from '../onnx/graph.ts';
import { roundHalfEven } from '../onnx/ops.ts';

export const PREVIEW_CHANNELS = 16;
/** Standard deviations either side of the mean that span the 0…255 range. */
export const PREVIEW_SIGMAS = 2;
/** Keeps a constant channel (σ = 0) finite: it maps to 0.5 → 128. */
export const PREVIEW_EPS = 1e-6;

/** H16[i][k] = (−1)^popcount(i & k) / 4 (orthonormal rows). */
function hadamardRow(i: number): number[] {
  return Array.from({ length: PREVIEW_CHANNELS }, (_, k) => {
    let bits = i & k;
    let parity = 0;
    while (bits) { parity ^= bits & 1; bits >>= 1; }
    return parity ? -0.25 : 0.25;
  });
}

/** [3][16]: the fixed 16 → 3 mix (see the file comment for why these rows and not fitted factors). */
export const PREVIEW_PROJECTION: readonly (readonly number[])[] = [hadamardRow(1), hadamardRow(2), hadamardRow(3)];

export function buildLatentPreviewGraph(): Graph {
  const g = new Graph('stage_c_preview');
  const x = g.input('latent', 'float32', ['B', PREVIEW_CHANNELS, 'H', 'W']);
  // [16, 3] row-major: weight[k][c] = PREVIEW_PROJECTION[c][k].
  const weight = g.f32(
    Array.from({ length: PREVIEW_CHANNELS * 3 }, (_, i) => PREVIEW_PROJECTION[i % 3][Math.floor(i / 3)]),
    [PREVIEW_CHANNELS, 3],
  );
  const p = g.node('MatMul', [g.node('Transpose', [x], { perm: [0, 2, 3, 1] }), weight]); // [B,H,W,3]
  const spatial = g.i64([1, 2]);
  const mean = g.node('ReduceMean', [p, spatial], { keepdims: 1 }); // [B,1,1,3]
  const d = g.node('Sub', [p, mean]);
  const std = g.node('Sqrt', [g.node('ReduceMean', [g.node('Mul', [d, d]), spatial], { keepdims: 1 })]);
  const denom = g.node('Add', [g.node('Mul', [std, g.f32([2 * PREVIEW_SIGMAS], [])]), g.f32([PREVIEW_EPS], [])]);
  const t = g.node('Add', [g.node('Div', [d, denom]), g.f32([0.5], [])]);
  const clamped = g.node('Clip', [t, g.f32([0], []), g.f32([1], [])]);
  // roundHalfEven, not Round: the WebGPU EP has no Round kernel (it would run on the CPU).
  const bytes = g.node('Cast', [roundHalfEven(g, g.node('Mul', [clamped, g.f32([255], [])]))], { to: 2 });
  g.output(bytes, 'rgb', 'uint8', ['B', 'H', 'W', 3]);
  return g;
}
