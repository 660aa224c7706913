/**
 * diffusers' DDPMWuerstchenScheduler (scaler 1.0, s 0.008) as used by StableCascadePriorPipeline and
 * StableCascadeDecoderPipeline (spec §7.2): timesteps = linspace(1, 0, N + 1), the model sees r = t, no shift, no
 * std rescale, CFG = lerp(uncond, cond, w) only when w > 1, and the stage output is x after the last step.
 *
 * Emulated in float32 like the schedule (cosine-schedule.ts); diffusers usually runs in the pipeline dtype
 * (bfloat16), which is not emulated — these are the float32 numbers.
 */
import { STEP_COEF, STEP_COEF_LENGTH } from '../../models/pipeline-graphs.ts';
import { cosineAlphaBarUnclamped, linspaceF32 } from './cosine-schedule.ts';
import { lerpF32 } from './gdf-sampler.ts';
import { DdpmStageSampler } from './ddpm-stage-sampler.ts';
import { checkStepInput, type HostStepInput, type SamplerStepResult } from './stage-sampler.ts';

const f = Math.fround;
const ALPHA_BAR_MIN = f(0.0001);
const ALPHA_BAR_MAX = f(0.9999);

/** set_timesteps(N): linspace(1, 0, N + 1) in float32; the pipelines loop over the first N values. */
export function diffusersTimesteps(steps: number): Float32Array {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  return linspaceF32(1, 0, steps + 1);
}

/**
 * ᾱ(t) = clamp(cos((t + s)/(1 + s)·π/2)² / cos(s/(1 + s)·π/2)², 1e-4, 0.9999) in float32
 * (DDPMWuerstchenScheduler._alpha_cumprod; unlike gdf it neither clamps t nor the cosine).
 */
export function diffusersAlphaCumprod(t: number): number {
  const v = cosineAlphaBarUnclamped(f(t), false);
  return Math.min(Math.max(v, ALPHA_BAR_MIN), ALPHA_BAR_MAX);
}

/** Scalars of one scheduler step from t to the next listed t' (float32). */
export interface DiffusersStepCoefficients {
  alphaCumprod: number;
  alphaCumprodPrev: number;
  /** α = ᾱ(t)/ᾱ(t'). */
  alpha: number;
  /** sqrt(1/α): factor on the bracket of μ. */
  invSqrtAlpha: number;
  /** (1 − α)/sqrt(1 − ᾱ(t)) is applied as (1 − α)·ε / sqrt(1 − ᾱ(t)); these are its two parts. */
  oneMinusAlpha: number;
  sqrtOneMinusAlphaCumprod: number;
  /** σ = sqrt((1 − α)(1 − ᾱ(t'))/(1 − ᾱ(t))); multiplied by 0 when t' = 0. */
  sigma: number;
  /** 1 when t' ≠ 0, else 0 (the last step adds no noise although a draw is still made). */
  noiseMask: number;
}

export function diffusersStepCoefficients(t: number, tPrev: number): DiffusersStepCoefficients {
  const alphaCumprod = diffusersAlphaCumprod(t);
  const alphaCumprodPrev = diffusersAlphaCumprod(tPrev);
  const alpha = f(alphaCumprod / alphaCumprodPrev);
  const oneMinusAlpha = f(1 - alpha);
  const oneMinusAcp = f(1 - alphaCumprod);
  return {
    alphaCumprod,
    alphaCumprodPrev,
    alpha,
    invSqrtAlpha: f(Math.sqrt(f(1 / alpha))),
    oneMinusAlpha,
    sqrtOneMinusAlphaCumprod: f(Math.sqrt(oneMinusAcp)),
    sigma: f(Math.sqrt(f(f(oneMinusAlpha * f(1 - alphaCumprodPrev)) / oneMinusAcp))),
    noiseMask: f(tPrev) !== 0 ? 1 : 0,
  };
}

/** diffusers pipelines guide only when the weight exceeds 1 (do_classifier_free_guidance = w > 1). */
export function diffusersUsesCfg(cfg: number | null): boolean {
  return cfg !== null && cfg > 1;
}

export interface DiffusersStepInput {
  /** Current latent, Float32Array [B, C, H, W]. */
  x: Float32Array;
  /** [2B, C, H, W] ([cond; uncond]) when guided, else [B, C, H, W]. */
  modelOut: Float32Array;
  guided: boolean;
  cfg: number;
  /** Current t and the next listed t'. */
  t: number;
  tPrev: number;
  /** Standard normal draw, Float32Array [B, C, H, W]; drawn on every step, unused (×0) on the last. */
  noise: Float32Array;
}

/**
 * One DDPMWuerstchenScheduler.step after the pipeline's CFG:
 * μ = sqrt(1/α)·(x − (1 − α)·ε/sqrt(1 − ᾱ(t))), x' = μ + σ·z·[t' ≠ 0].
 * x0 is the implied clean estimate (x − sqrt(1 − ᾱ)·ε)/sqrt(ᾱ), reported for previews only (diffusers has none).
 */
export function diffusersStep(input: DiffusersStepInput): SamplerStepResult {
  const { x, modelOut, guided, cfg, t, tPrev, noise } = input;
  const n = x.length;
  if (modelOut.length !== (guided ? 2 * n : n)) {
    throw new Error(`model output has ${modelOut.length} elements, expected ${guided ? 2 * n : n} (${guided ? 'guided [cond; uncond]' : 'unguided'})`);
  }
  if (noise.length !== n) throw new Error(`noise has ${noise.length} elements, expected ${n}`);
  const pred = guided ? lerpF32(modelOut.subarray(n), modelOut.subarray(0, n), cfg) : Float32Array.from(modelOut);
  const c = diffusersStepCoefficients(t, tPrev);
  const sqrtAcp = f(Math.sqrt(c.alphaCumprod));
  const x0 = new Float32Array(n);
  const xNext = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = pred[i];
    const mu = f(c.invSqrtAlpha * f(x[i] - f(f(c.oneMinusAlpha * e) / c.sqrtOneMinusAlphaCumprod)));
    xNext[i] = f(mu + f(f(c.sigma * noise[i]) * c.noiseMask));
    x0[i] = f(f(x[i] - f(c.sqrtOneMinusAlphaCumprod * e)) / sqrtAcp);
  }
  return { pred, x0, x: xNext };
}

/** DDPMWuerstchenScheduler as a StageSampler: r = t, one draw per step (unused on the last), result = final x. */
export class DiffusersStageSampler extends DdpmStageSampler {
  readonly output = 'x';
  readonly guided: boolean;
  /** t_i = linspace(1, 0, steps + 1), Float32Array [steps + 1]; the network sees r = t. */
  readonly t: Float32Array;

  constructor(steps: number, cfg: number | null) {
    super(steps, cfg);
    this.t = diffusersTimesteps(steps);
    this.guided = diffusersUsesCfg(cfg);
  }

  modelTime(i: number): number {
    return this.t[i];
  }

  step(i: number, input: HostStepInput): SamplerStepResult {
    checkStepInput(this, i, input);
    return diffusersStep({ x: input.x, modelOut: input.modelOut, guided: this.guided, cfg: this.cfg ?? 0, t: this.t[i], tPrev: this.t[i + 1], noise: input.noise! });
  }

  /**
   * DDPMWuerstchen in x0 form: a = √ᾱ(t), b = √(1−ᾱ(t)), a' = √ᾱ(t'), ε-coefficient √(1−ᾱ(t')−σ²) with the
   * unmasked σ, and noise σ·mask (the last step adds none although a draw is made); no rescale.
   */
  stepCoefficients(i: number): Float32Array {
    const d = diffusersStepCoefficients(this.t[i], this.t[i + 1]);
    const coef = new Float32Array(STEP_COEF_LENGTH);
    coef[STEP_COEF.a] = Math.sqrt(d.alphaCumprod);
    coef[STEP_COEF.b] = Math.sqrt(1 - d.alphaCumprod);
    coef[STEP_COEF.aNext] = Math.sqrt(d.alphaCumprodPrev);
    coef[STEP_COEF.epsCoeff] = Math.sqrt(Math.max(0, 1 - d.alphaCumprodPrev - d.sigma * d.sigma));
    coef[STEP_COEF.noiseCoeff] = d.sigma * d.noiseMask;
    coef[STEP_COEF.rho] = 0;
    coef[STEP_COEF.cfg] = this.cfg ?? 0;
    return coef;
  }
}
