/**
 * The official Stable Cascade sampler: gdf GDF.sample with DDPMSampler (= DDIMSampler.step, η = 1), EpsilonTarget,
 * VPScaler and CFG with std rescale (spec §7.1, golden sampling.json "order_of_operations").
 *
 * Pure functions over Float32Array latents of shape [B, C, H, W] (row-major). Every elementwise operation is
 * rounded to float32 exactly as PyTorch's float32 CPU kernels do (Python scalars narrowed to float32 first), so the
 * trajectory tracks a float32 PyTorch run to rounding level. The whole-tensor std uses a float64 accumulator and
 * is rounded once, as torch's full-reduction std on CPU does.
 */
import { STEP_COEF, STEP_COEF_LENGTH } from '../../models/pipeline-graphs.ts';
import { cosineLogSNR, cosineNoiseCond, linspaceF32, vpScalers } from './cosine-schedule.ts';
import type { GdfSamplerConfig } from './presets.ts';
import { DdpmStageSampler } from './ddpm-stage-sampler.ts';
import { checkStepInput, type HostStepInput, type SamplerStepResult } from './stage-sampler.ts';

export type { SamplerStepResult } from './stage-sampler.ts';

const f = Math.fround;

/**
 * torch.lerp(start, end, w) for float32 tensors and a scalar weight: end − (end − start)·(1 − w) when |w| ≥ 0.5,
 * otherwise start + w·(end − start) (PyTorch's two-sided formula, each operation in float32).
 * @param start Float32Array [N] (gdf: the unconditional prediction)
 * @param end Float32Array [N] (gdf: the conditional prediction)
 * @returns Float32Array [N]
 */
export function lerpF32(start: Float32Array, end: Float32Array, weight: number): Float32Array {
  if (start.length !== end.length) throw new Error(`lerp: length mismatch ${start.length} vs ${end.length}`);
  const w = f(weight);
  const out = new Float32Array(start.length);
  if (Math.abs(w) < 0.5) {
    for (let i = 0; i < out.length; i++) out[i] = f(start[i] + f(w * f(end[i] - start[i])));
  } else {
    const oneMinusW = f(1 - w);
    for (let i = 0; i < out.length; i++) out[i] = f(end[i] - f(f(end[i] - start[i]) * oneMinusW));
  }
  return out;
}

/**
 * Unbiased (N − 1) standard deviation over ALL elements, float64 accumulation, rounded to float32 once
 * (torch.Tensor.std() with no dim on CPU: two-pass mean / squared deviations in double).
 */
export function stdAllF32(x: Float32Array): number {
  const n = x.length;
  if (n < 2) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - mean;
    ss += d * d;
  }
  return f(Math.sqrt(ss / (n - 1)));
}

/**
 * Classifier-free guidance as GDF.sample does it.
 * @param modelOut Float32Array [2B, C, H, W]: rows [0, B) conditional, rows [B, 2B) unconditional (torch.chunk(2)).
 * @param cfg guidance weight w (the "cfg" argument).
 * @param rho std-rescale strength (cfg_rho, default 0.7); 0 disables the rescale.
 * @returns pred, Float32Array [B, C, H, W]:
 *   pred_cfg = lerp(uncond, cond, w); if rho > 0:
 *   pred = rho·(pred_cfg·std(cond)/(std(pred_cfg) + 1e-9)) + pred_cfg·(1 − rho),
 *   with each std a single number over the whole B-item half batch (not per sample).
 */
export function gdfGuidance(modelOut: Float32Array, cfg: number, rho: number): Float32Array {
  if (modelOut.length % 2 !== 0) throw new Error(`guided model output must have an even number of elements, got ${modelOut.length}`);
  const half = modelOut.length / 2;
  const cond = modelOut.subarray(0, half);
  const uncond = modelOut.subarray(half);
  const predCfg = lerpF32(uncond, cond, cfg);
  if (!(rho > 0)) return predCfg;
  const stdPos = stdAllF32(cond);
  const denom = f(stdAllF32(predCfg) + f(1e-9));
  const rhoF = f(rho);
  const keep = f(1 - rho); // Python computes 1 − cfg_rho in double; the tensor op narrows it to float32
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const scaled = f(f(predCfg[i] * stdPos) / denom);
    out[i] = f(f(rhoF * scaled) + f(predCfg[i] * keep));
  }
  return out;
}

/** Coefficients of one DDPM (DDIM η = 1) step from logSNR_i to logSNR_{i+1}, all float32. */
export interface GdfStepCoefficients {
  /** VP scalers at logSNR_i: x = a·x0 + b·ε. */
  a: number;
  b: number;
  /** a_{i+1}, the signal scale of the next level. */
  aNext: number;
  /** Coefficient of ε in the update: sqrt(b_{i+1}² − σ²). */
  epsCoeff: number;
  /** Noise scale σ = sqrt(b_{i+1}²/b²) · sqrt(1 − a²/a_{i+1}²). */
  sigma: number;
}

/** DDIMSampler.step coefficients with η = 1, in PyTorch's float32 operation order. */
export function gdfStepCoefficients(logSNR: number, logSNRNext: number): GdfStepCoefficients {
  const { a, b } = vpScalers(logSNR);
  const { a: aNext, b: bNext } = vpScalers(logSNRNext);
  const bNext2 = f(bNext * bNext);
  // sigma_tau = eta * (b_prev**2 / b**2).sqrt() * (1 - a**2 / a_prev**2).sqrt(), eta = 1 (exact).
  const sigma = f(f(Math.sqrt(f(bNext2 / f(b * b)))) * f(Math.sqrt(f(1 - f(f(a * a) / f(aNext * aNext))))));
  const epsCoeff = f(Math.sqrt(f(bNext2 - f(sigma * sigma))));
  return { a, b, aNext, epsCoeff, sigma };
}

export interface GdfStepInput {
  /** Current latent, Float32Array [B, C, H, W]. */
  x: Float32Array;
  /** Model output: [2B, C, H, W] ([cond; uncond]) when guided, else [B, C, H, W]. */
  modelOut: Float32Array;
  /** True when modelOut holds the [cond; uncond] pair and CFG applies. */
  guided: boolean;
  /** CFG weight (ignored when not guided). */
  cfg: number;
  /** CFG std-rescale strength, default 0.7 (ignored when not guided). */
  rho?: number;
  /** logSNR_i and logSNR_{i+1} (float32 values from the schedule). */
  logSNR: number;
  logSNRNext: number;
  /** Fresh standard normal draw, Float32Array [B, C, H, W] (gdf draws it on every step, including the last). */
  noise: Float32Array;
}

/**
 * One GDF sampling step: guidance → x0 = (x − b·ε)/a → x' = a'·x0 + sqrt(b'² − σ²)·ε + σ·z. Pure.
 */
export function gdfStep(input: GdfStepInput): SamplerStepResult {
  const { x, modelOut, guided, cfg, logSNR, logSNRNext, noise } = input;
  const n = x.length;
  if (modelOut.length !== (guided ? 2 * n : n)) {
    throw new Error(`model output has ${modelOut.length} elements, expected ${guided ? 2 * n : n} (${guided ? 'guided [cond; uncond]' : 'unguided'})`);
  }
  if (noise.length !== n) throw new Error(`noise has ${noise.length} elements, expected ${n}`);
  const pred = guided ? gdfGuidance(modelOut, cfg, input.rho ?? 0.7) : Float32Array.from(modelOut);
  const { a, b, aNext, epsCoeff, sigma } = gdfStepCoefficients(logSNR, logSNRNext);
  const x0 = new Float32Array(n);
  const xNext = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = pred[i];
    const x0i = f(f(x[i] - f(e * b)) / a);
    x0[i] = x0i;
    xNext[i] = f(f(f(aNext * x0i) + f(epsCoeff * e)) + f(sigma * noise[i]));
  }
  return { pred, x0, x: xNext };
}

/**
 * GDF.sample as a StageSampler: t_i = linspace(1, 0, steps + 1), logSNR_i = CosineSchedule(t_i, shift), the network
 * sees CosineTNoiseCond(logSNR_i) (or t_i), one noise draw per step including the last; guided whenever a weight
 * is given (the official sampler has no "no CFG" shortcut; null = unguided).
 */
export class GdfStageSampler extends DdpmStageSampler {
  readonly guided: boolean;
  readonly output: 'x0' | 'x';
  /** t_i, logSNR_i and the model input r_i, Float32Array [steps + 1] each. */
  readonly t: Float32Array;
  readonly logSNR: Float32Array;
  readonly r: Float32Array;

  constructor(readonly config: GdfSamplerConfig, steps: number, cfg: number | null) {
    super(steps, cfg);
    this.guided = cfg !== null;
    this.output = config.output;
    this.t = linspaceF32(1, 0, steps + 1);
    this.logSNR = this.t.map((ti) => cosineLogSNR(ti, config.shift));
    this.r = config.rMode === 't' ? Float32Array.from(this.t) : this.logSNR.map(cosineNoiseCond);
  }

  modelTime(i: number): number {
    return this.r[i];
  }

  step(i: number, input: HostStepInput): SamplerStepResult {
    checkStepInput(this, i, input);
    return gdfStep({
      x: input.x, modelOut: input.modelOut, guided: this.guided, cfg: this.cfg ?? 0, rho: this.config.rho,
      logSNR: this.logSNR[i], logSNRNext: this.logSNR[i + 1], noise: input.noise!,
    });
  }

  stepCoefficients(i: number): Float32Array {
    const c = gdfStepCoefficients(this.logSNR[i], this.logSNR[i + 1]);
    const coef = new Float32Array(STEP_COEF_LENGTH);
    coef[STEP_COEF.a] = c.a;
    coef[STEP_COEF.b] = c.b;
    coef[STEP_COEF.aNext] = c.aNext;
    coef[STEP_COEF.epsCoeff] = c.epsCoeff;
    coef[STEP_COEF.noiseCoeff] = c.sigma;
    coef[STEP_COEF.rho] = this.config.rho;
    coef[STEP_COEF.cfg] = this.cfg ?? 0;
    return coef;
  }
}
