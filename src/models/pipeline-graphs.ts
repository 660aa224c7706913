/**
 * Small weightless graphs that let a whole generation stay on the device between network calls: the sampler
 * update, the CFG batch assembly and the image post-processing. They are built in memory when a pipeline loads
 * (a few KB each) and run on the same execution provider as the networks.
 */
import { Graph } from '../onnx/graph.ts';
import { roundHalfEven } from '../onnx/ops.ts';
import { serializeToMemory, type InMemoryModel } from '../onnx/serialize.ts';

/** Order of the per-step scalars in the `coef` input of the DDPM step graph. */
export const STEP_COEF = { a: 0, b: 1, aNext: 2, epsCoeff: 3, noiseCoeff: 4, cfg: 5, rho: 6 } as const;
export const STEP_COEF_LENGTH = 8;

/**
 * Order of the per-step scalars in the `coef` input of the k-diffusion step graph: σ_i, the CFG weight, and the
 * update x' = xCoeff·x − expm1·(dCoeff·D − prevCoeff·D_prev) + noiseCoeff·z, then the next network input scale.
 */
export const KDIFF_COEF = { sigma: 0, cfg: 1, xCoeff: 2, expm1: 3, dCoeff: 4, prevCoeff: 5, noiseCoeff: 6, inputScaleNext: 7 } as const;
export const KDIFF_COEF_LENGTH = 8;

/** The sampler step graph of a kind (see the two builders below). */
export function buildSamplerStepGraph(kind: 'ddpm' | 'kdiffusion', guided: boolean): Graph {
  return kind === 'ddpm' ? buildDdpmStepGraph(guided) : buildKDiffusionStepGraph(guided);
}

/**
 * One sampler step in x0 form, valid for both DDPM formulations (gdf DDPM with η = 1 and diffusers'
 * DDPMWuerstchenScheduler, which is the same update written around μ):
 *   guided: pred_cfg = lerp(ε_u, ε_c, w) (torch.lerp's two-sided formula),
 *           pred = ρ·pred_cfg·std(ε_c)/(std(pred_cfg)+1e-9) + (1−ρ)·pred_cfg (whole-tensor unbiased std; ρ = 0 → pred_cfg)
 *   x0 = (x − b·pred)/a;  x' = a'·x0 + c_ε·pred + c_z·z
 * Inputs: x [B,…], eps [2B,…] (guided: cond rows then uncond rows) or [B,…], noise [B,…], coef [8].
 * Outputs: x_next [B,…], x0 [B,…] and x_model, the next network input: [x'; x'] [2B,…] when guided, else x'.
 */
export function buildDdpmStepGraph(guided: boolean): Graph {
  const g = new Graph(guided ? 'sampler_step_guided' : 'sampler_step');
  const x = g.input('x', 'float32', ['B', 'C', 'H', 'W']);
  const eps = g.input('eps', 'float32', [guided ? 'B2' : 'B', 'C', 'H', 'W']);
  const noise = g.input('noise', 'float32', ['B', 'C', 'H', 'W']);
  const coef = g.input('coef', 'float32', [STEP_COEF_LENGTH]);
  const scalar = (i: number) => g.node('Gather', [coef, g.i64([i], [])], { axis: 0 });
  let pred = eps;
  if (guided) {
    const [cond, uncond] = g.nodeN('Split', [eps], { axis: 0, num_outputs: 2 }, { outputs: 2 });
    const w = scalar(STEP_COEF.cfg);
    const diff = g.node('Sub', [cond, uncond]);
    const low = g.node('Add', [uncond, g.node('Mul', [w, diff])]);
    const high = g.node('Sub', [cond, g.node('Mul', [diff, g.node('Sub', [g.f32([1], []), w])])]);
    const useHigh = g.node('GreaterOrEqual', [g.node('Abs', [w]), g.f32([0.5], [])]);
    const predCfg = g.node('Where', [useHigh, high, low]);
    const rho = scalar(STEP_COEF.rho);
    const n = elementCount(g, cond);
    const scaled = g.node('Div', [g.node('Mul', [predCfg, unbiasedStd(g, cond, n)]), g.node('Add', [unbiasedStd(g, predCfg, n), g.f32([1e-9], [])])]);
    pred = g.node('Add', [g.node('Mul', [rho, scaled]), g.node('Mul', [predCfg, g.node('Sub', [g.f32([1], []), rho])])]);
  }
  const x0 = g.node('Div', [g.node('Sub', [x, g.node('Mul', [pred, scalar(STEP_COEF.b)])]), scalar(STEP_COEF.a)]);
  const xNext = g.node('Add', [
    g.node('Add', [g.node('Mul', [scalar(STEP_COEF.aNext), x0]), g.node('Mul', [scalar(STEP_COEF.epsCoeff), pred])]),
    g.node('Mul', [scalar(STEP_COEF.noiseCoeff), noise]),
  ]);
  g.output(xNext, 'x_next', 'float32', ['B', 'C', 'H', 'W']);
  g.output(x0, 'x0', 'float32', ['B', 'C', 'H', 'W']);
  g.output(guided ? g.node('Concat', [xNext, xNext], { axis: 0 }) : g.node('Identity', [xNext]), 'x_model', 'float32', [guided ? 'B2' : 'B', 'C', 'H', 'W']);
  return g;
}

/**
 * One k-diffusion step (DPM++(2M), LCM) on the σ parametrisation, with the ComfyUI epsilon model wrapper:
 *   guided: ε = ε_u + w·(ε_c − ε_u) (CFG on ε)
 *   D = x − σ·ε (denoised);  x' = c_x·x − expm1·(c_D·D − c_P·D_prev) + c_z·z
 *   next network input = x'·s' with s' = 1/√(σ_{i+1}²+1)
 * DPM++(2M): c_x = σ_{i+1}/σ_i, expm1 = e^{−h} − 1, c_D = 1 + 1/(2r), c_P = 1/(2r) (c_D = 1, c_P = 0 on the first and
 * last step); LCM: c_x = 0, expm1 = −1, c_D = 1, c_P = 0, c_z = σ_{i+1}.
 * Inputs: x [B,…], eps [2B,…] (cond rows then uncond rows) or [B,…], noise [B,…], x0_prev [B,…], coef [8] (KDIFF_COEF).
 * Outputs: x_next [B,…], x0 = D [B,…], x_model [2B,…] = [x'·s'; x'·s'] when guided, else x'·s'.
 */
export function buildKDiffusionStepGraph(guided: boolean): Graph {
  const g = new Graph(guided ? 'kdiffusion_step_guided' : 'kdiffusion_step');
  const x = g.input('x', 'float32', ['B', 'C', 'H', 'W']);
  const eps = g.input('eps', 'float32', [guided ? 'B2' : 'B', 'C', 'H', 'W']);
  const noise = g.input('noise', 'float32', ['B', 'C', 'H', 'W']);
  const prev = g.input('x0_prev', 'float32', ['B', 'C', 'H', 'W']);
  const coef = g.input('coef', 'float32', [KDIFF_COEF_LENGTH]);
  const scalar = (i: number) => g.node('Gather', [coef, g.i64([i], [])], { axis: 0 });
  let pred = eps;
  if (guided) {
    const [cond, uncond] = g.nodeN('Split', [eps], { axis: 0, num_outputs: 2 }, { outputs: 2 });
    pred = g.node('Add', [uncond, g.node('Mul', [g.node('Sub', [cond, uncond]), scalar(KDIFF_COEF.cfg)])]);
  }
  const denoised = g.node('Sub', [x, g.node('Mul', [pred, scalar(KDIFF_COEF.sigma)])]);
  const blended = g.node('Sub', [g.node('Mul', [scalar(KDIFF_COEF.dCoeff), denoised]), g.node('Mul', [scalar(KDIFF_COEF.prevCoeff), prev])]);
  const xNext = g.node('Add', [
    g.node('Sub', [g.node('Mul', [scalar(KDIFF_COEF.xCoeff), x]), g.node('Mul', [scalar(KDIFF_COEF.expm1), blended])]),
    g.node('Mul', [scalar(KDIFF_COEF.noiseCoeff), noise]),
  ]);
  const input = g.node('Mul', [xNext, scalar(KDIFF_COEF.inputScaleNext)]);
  g.output(xNext, 'x_next', 'float32', ['B', 'C', 'H', 'W']);
  g.output(denoised, 'x0', 'float32', ['B', 'C', 'H', 'W']);
  g.output(guided ? g.node('Concat', [input, input], { axis: 0 }) : input, 'x_model', 'float32', [guided ? 'B2' : 'B', 'C', 'H', 'W']);
  return g;
}

/**
 * Element count of `v` as a float32 scalar [], computed on the device: Size is a shape op that onnxruntime runs
 * on the CPU (copying `v` there). A sum of ones is exact below 2^24 elements, so n is the same number.
 */
function elementCount(g: Graph, v: string): string {
  const ones = g.node('Add', [g.node('Mul', [v, g.f32([0], [])]), g.f32([1], [])]);
  return g.node('ReduceSum', [ones], { keepdims: 0 });
}

/** std over all elements with the N−1 denominator, as torch.Tensor.std(); a scalar []. n: elementCount(v). */
function unbiasedStd(g: Graph, v: string, n: string): string {
  const mean = g.node('ReduceMean', [v], { keepdims: 0 });
  const d = g.node('Sub', [v, mean]);
  const ss = g.node('ReduceSum', [g.node('Mul', [d, d])], { keepdims: 0 });
  return g.node('Sqrt', [g.node('Div', [ss, g.node('Sub', [n, g.f32([1], [])])])]);
}

/** [B,…] → [2B,…] = [a; 0] (Stage B's effnet: the Stage C result for cond rows, zeros for uncond rows). */
export function buildPairWithZerosGraph(): Graph {
  const g = new Graph('pair_with_zeros');
  const a = g.input('a', 'float32', ['B', 'C', 'H', 'W']);
  const zeros = g.node('Expand', [g.f32([0], []), g.node('Shape', [a])]);
  g.output(g.node('Concat', [a, zeros], { axis: 0 }), 'pair', 'float32', ['B2', 'C', 'H', 'W']);
  return g;
}

/**
 * Decoded image → 8-bit RGB, channels-last, cropped to the requested size:
 * clamp(x, 0, 1)·255 rounded half-to-even (numpy/diffusers round) → uint8 [B,H',W',3].
 * Inputs: image [B,3,H,W] float32, crop [2] int64 = (H', W').
 */
export function buildToRgb8Graph(): Graph {
  const g = new Graph('to_rgb8');
  const img = g.input('image', 'float32', ['B', 3, 'H', 'W']);
  const crop = g.input('crop', 'int64', [2]);
  const cropped = g.node('Slice', [img, g.i64([0, 0]), crop, g.i64([2, 3])]);
  const clamped = g.node('Clip', [cropped, g.f32([0], []), g.f32([1], [])]);
  // Channels-last by Split + Concat on a new last axis while still float: the WebGPU EP has no uint8 Transpose
  // (nor Round), and onnxruntime's transpose optimizer would push a float Transpose past the Cast to uint8.
  const levels = roundHalfEven(g, g.node('Mul', [clamped, g.f32([255], [])]));
  const planes = g.nodeN('Split', [levels], { axis: 1, num_outputs: 3 }, { outputs: 3 }).map((p) => g.node('Unsqueeze', [p, g.i64([4])]));
  const nhwc = g.node('Squeeze', [g.node('Concat', planes, { axis: 4 }), g.i64([1])]); // [B,Hc,Wc,3]
  g.output(g.node('Cast', [nhwc], { to: 2 }), 'rgb', 'uint8', ['B', 'Hc', 'Wc', 3]);
  return g;
}

export async function compileWeightless(g: Graph): Promise<InMemoryModel> {
  return serializeToMemory(g);
}

/**
 * Long-prompt conditioning (kohya sd-scripts' --max_token_length 225, as SoteDiffusion was trained): each
 * prompt is `chunks` CLIP passes of 77 tokens; their last-layer states are stitched as [BOS of chunk 0] +
 * positions 1…75 of every chunk + [last position of the last chunk] (2 + 75·chunks tokens), and the pooled
 * vector is chunk 0's (the same layout as clip-tokenizer.ts stitchLongPromptHidden, on the device).
 * Inputs: hidden [R·chunks, 77, H], pooled [R·chunks, P] (rows prompt-major). Outputs: clip_text
 * [R, 2+75·chunks, H], clip_text_pooled [R, 1, P].
 */
export function buildLongPromptStitchGraph(chunks: number): Graph {
  const g = new Graph(`long_prompt_stitch_${chunks}`);
  const hidden = g.input('hidden', 'float32', ['RC', 77, 'H']);
  const pooled = g.input('pooled', 'float32', ['RC', 'P']);
  const positions = [0];
  for (let c = 0; c < chunks; c++) for (let i = 1; i <= 75; i++) positions.push(c * 77 + i);
  positions.push(chunks * 77 - 1);
  const perPrompt = g.node('Reshape', [hidden, g.i64([-1, chunks * 77, 0])]);
  g.output(g.node('Gather', [perPrompt, g.i64(positions)], { axis: 1 }), 'clip_text', 'float32', ['R', positions.length, 'H']);
  // [RC,P] → [RC,1,P] → [R,chunks,P] with a constant shape (0 copies P): a shape computed from Shape would run on the CPU.
  const pooledPerPrompt = g.node('Reshape', [g.node('Unsqueeze', [pooled, g.i64([1])]), g.i64([-1, chunks, 0])]);
  g.output(g.node('Gather', [pooledPerPrompt, g.i64([0])], { axis: 1 }), 'clip_text_pooled', 'float32', ['R', 1, 'P']);
  return g;
}
