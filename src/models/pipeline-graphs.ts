/**
 * Small weightless graphs that let a whole generation stay on the device between network calls: the sampler
 * update, the CFG batch assembly and the image post-processing. They are built in memory when a pipeline loads
 * (a few KB each) and run on the same execution provider as the networks.
 */
import { Graph } from '../onnx/graph.ts';
import { serializeToMemory, type InMemoryModel } from '../onnx/serialize.ts';

/** Order of the per-step scalars in the `coef` input of the step graph. */
export const STEP_COEF = { a: 0, b: 1, aNext: 2, epsCoeff: 3, noiseCoeff: 4, cfg: 5, rho: 6 } as const;
export const STEP_COEF_LENGTH = 8;

/**
 * One sampler step in x0 form, valid for both formulations (gdf DDPM with η = 1 and diffusers'
 * DDPMWuerstchenScheduler, which is the same update written around μ):
 *   guided: pred_cfg = lerp(ε_u, ε_c, w) (torch.lerp's two-sided formula),
 *           pred = ρ·pred_cfg·std(ε_c)/(std(pred_cfg)+1e-9) + (1−ρ)·pred_cfg (whole-tensor unbiased std; ρ = 0 → pred_cfg)
 *   x0 = (x − b·pred)/a;  x' = a'·x0 + c_ε·pred + c_z·z
 * Inputs: x [B,…], eps [2B,…] (guided: cond rows then uncond rows) or [B,…], noise [B,…], coef [8].
 * Outputs: x_next [B,…], x0 [B,…] and, when guided, x_model [2B,…] = [x'; x'] (the next network input).
 */
export function buildSamplerStepGraph(guided: boolean): Graph {
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
    const scaled = g.node('Div', [g.node('Mul', [predCfg, unbiasedStd(g, cond)]), g.node('Add', [unbiasedStd(g, predCfg), g.f32([1e-9], [])])]);
    pred = g.node('Add', [g.node('Mul', [rho, scaled]), g.node('Mul', [predCfg, g.node('Sub', [g.f32([1], []), rho])])]);
  }
  const x0 = g.node('Div', [g.node('Sub', [x, g.node('Mul', [pred, scalar(STEP_COEF.b)])]), scalar(STEP_COEF.a)]);
  const xNext = g.node('Add', [
    g.node('Add', [g.node('Mul', [scalar(STEP_COEF.aNext), x0]), g.node('Mul', [scalar(STEP_COEF.epsCoeff), pred])]),
    g.node('Mul', [scalar(STEP_COEF.noiseCoeff), noise]),
  ]);
  g.output(xNext, 'x_next', 'float32', ['B', 'C', 'H', 'W']);
  g.output(x0, 'x0', 'float32', ['B', 'C', 'H', 'W']);
  if (guided) g.output(g.node('Concat', [xNext, xNext], { axis: 0 }), 'x_model', 'float32', ['B2', 'C', 'H', 'W']);
  return g;
}

/** std over all elements with the N−1 denominator, as torch.Tensor.std(); a scalar []. */
function unbiasedStd(g: Graph, v: string): string {
  const mean = g.node('ReduceMean', [v], { keepdims: 0 });
  const d = g.node('Sub', [v, mean]);
  const ss = g.node('ReduceSum', [g.node('Mul', [d, d])], { keepdims: 0 });
  const n = g.node('Cast', [g.node('Size', [v])], { to: 1 });
  return g.node('Sqrt', [g.node('Div', [ss, g.node('Sub', [n, g.f32([1], [])])])]);
}

/** [B,…] → [2B,…] = [a; a] (the CFG batch of a latent). */
export function buildDuplicateGraph(): Graph {
  const g = new Graph('duplicate_batch');
  const a = g.input('a', 'float32', ['B', 'C', 'H', 'W']);
  g.output(g.node('Concat', [a, a], { axis: 0 }), 'pair', 'float32', ['B2', 'C', 'H', 'W']);
  return g;
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
  const bytes = g.node('Cast', [g.node('Round', [g.node('Mul', [clamped, g.f32([255], [])])])], { to: 2 });
  g.output(g.node('Transpose', [bytes], { perm: [0, 2, 3, 1] }), 'rgb', 'uint8', ['B', 'Hc', 'Wc', 3]);
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
  const pooledShape = g.node('Concat', [g.i64([-1, chunks]), g.node('Shape', [pooled], { start: 1 })], { axis: 0 });
  const pooledPerPrompt = g.node('Reshape', [pooled, pooledShape]);
  g.output(g.node('Gather', [pooledPerPrompt, g.i64([0])], { axis: 1 }), 'clip_text_pooled', 'float32', ['R', 1, 'P']);
  return g;
}
