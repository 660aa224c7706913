/**
 * k-diffusion samplers on Stable Cascade's σ schedule, as ComfyUI runs them with SoteDiffusion v2's recommended
 * settings (golden README "The samplers SoteDiffusion v2 recommends"):
 * - DPM++(2M): crowsonkb/k-diffusion sample_dpmpp_2m (4601bf0, MIT);
 * - LCM: k-diffusion sample_lcm as in ComfyUI (x ← denoised, then + σ_{i+1}·fresh noise while σ_{i+1} > 0).
 * Model wrapper (ComfyUI EPS): the network sees x/√(σ²+1) and r = timestep(σ); CFG on ε, ε = ε_u + w·(ε_c − ε_u);
 * denoised D = x − σ·ε. Start: x = noise·√(1+σ₀²) when σ₀ is the schedule's σ_max (max_denoise), else noise·σ₀.
 * With CFG 1 the network runs on the conditional half only (ComfyUI's cfg-1 shortcut).
 *
 * The host step is rounded to float32 in PyTorch's operation order; latents Float32Array [B, C, H, W].
 */
import { KDIFF_COEF, KDIFF_COEF_LENGTH } from '../../models/pipeline-graphs.ts';
import { cascadeSigmaRange, cascadeSigmas, cascadeTimestep } from './cascade-sigmas.ts';
import type { KDiffusionSamplerConfig } from './presets.ts';
import { checkStepInput, type HostStepInput, type SamplerStepResult, type StageSampler } from './stage-sampler.ts';

const f = Math.fround;

/** The DPM++(2M) scalars of step i: x' = xCoeff·x − expm1·(dCoeff·D − prevCoeff·D_prev). */
interface MultistepCoefficients {
  xCoeff: number;
  expm1: number;
  dCoeff: number;
  prevCoeff: number;
}

export class KDiffusionStageSampler implements StageSampler {
  readonly stepGraph = 'kdiffusion';
  readonly output = 'x';
  readonly guided: boolean;
  readonly usesPreviousX0: boolean;
  /** σ_0 … σ_{steps−1}, 0: Float32Array [steps + 1]. */
  readonly sigmas: Float32Array;
  /** timestep(σ_i), the network's r per step: Float32Array [steps]. */
  readonly r: Float32Array;
  private readonly maxDenoise: boolean;

  constructor(readonly config: KDiffusionSamplerConfig, readonly steps: number, readonly cfg: number | null) {
    this.guided = cfg !== null && Math.abs(cfg - 1) > 1e-9;
    this.usesPreviousX0 = true; // the k-diffusion step graph always takes x0_prev (LCM weights it 0)
    this.sigmas = cascadeSigmas(config.schedule, steps, config.shift);
    this.r = this.sigmas.subarray(0, steps).map(cascadeTimestep);
    // ComfyUI: max_denoise = isclose(σ_max, σ_0, rel_tol 1e-5) or σ_0 > σ_max.
    const { sigmaMax } = cascadeSigmaRange(config.shift);
    this.maxDenoise = Math.abs(sigmaMax - this.sigmas[0]) <= 1e-5 * Math.max(sigmaMax, this.sigmas[0]) || this.sigmas[0] > sigmaMax;
  }

  modelTime(i: number): number {
    return this.r[i];
  }

  level(i: number): number {
    return this.sigmas[i];
  }

  /** 1/√(σ_i²+1) (σ_data = 1); 1 after the last step (σ = 0). */
  modelInputScale(i: number): number {
    const s = this.sigmas[i];
    return f(1 / f(Math.sqrt(f(f(s * s) + 1))));
  }

  startLatent(noise: Float32Array): Float32Array {
    const s0 = this.sigmas[0];
    const scale = this.maxDenoise ? f(Math.sqrt(f(1 + f(s0 * s0)))) : s0;
    return noise.map((v) => v * scale);
  }

  drawsNoise(i: number): boolean {
    return this.config.method === 'lcm' && this.sigmas[i + 1] > 0;
  }

  step(i: number, input: HostStepInput): SamplerStepResult {
    checkStepInput(this, i, input);
    const { x, modelOut } = input;
    const n = x.length;
    const sigma = this.sigmas[i];
    const pred = new Float32Array(n);
    const x0 = new Float32Array(n);
    const w = f(this.cfg ?? 1);
    for (let k = 0; k < n; k++) {
      const e = this.guided ? f(modelOut[n + k] + f(f(modelOut[k] - modelOut[n + k]) * w)) : modelOut[k];
      pred[k] = e;
      x0[k] = f(x[k] - f(e * sigma));
    }
    const xNext = new Float32Array(n);
    if (this.config.method === 'lcm') {
      const next = this.sigmas[i + 1];
      for (let k = 0; k < n; k++) xNext[k] = next > 0 ? f(f(input.noise![k] * next) + x0[k]) : x0[k];
      return { pred, x0, x: xNext };
    }
    const c = this.multistep(i, input.prevX0 !== undefined);
    const prev = input.prevX0;
    for (let k = 0; k < n; k++) {
      const d = prev && c.prevCoeff !== 0 ? f(f(c.dCoeff * x0[k]) - f(c.prevCoeff * prev[k])) : x0[k];
      xNext[k] = f(f(c.xCoeff * x[k]) - f(c.expm1 * d));
    }
    return { pred, x0, x: xNext };
  }

  /**
   * sample_dpmpp_2m with t = −ln σ: h = t_{i+1} − t_i, x' = (e^{−t_{i+1}}/e^{−t_i})·x − expm1(−h)·D′ where
   * D′ = (1 + 1/(2r))·D − (1/(2r))·D_prev, r = h_last/h, except on the first step and when σ_{i+1} = 0 (D′ = D).
   */
  private multistep(i: number, havePrevious: boolean): MultistepCoefficients {
    const tOf = (s: number) => f(-f(Math.log(s)));
    const t = tOf(this.sigmas[i]);
    const tNext = tOf(this.sigmas[i + 1]);
    const h = f(tNext - t);
    const xCoeff = f(f(Math.exp(-tNext)) / f(Math.exp(-t)));
    const expm1 = f(Math.expm1(-h));
    if (!havePrevious || this.sigmas[i + 1] === 0) return { xCoeff, expm1, dCoeff: 1, prevCoeff: 0 };
    const hLast = f(t - tOf(this.sigmas[i - 1]));
    const r = f(hLast / h);
    const prevCoeff = f(1 / f(2 * r));
    return { xCoeff, expm1, dCoeff: f(1 + prevCoeff), prevCoeff };
  }

  stepCoefficients(i: number): Float32Array {
    const coef = new Float32Array(KDIFF_COEF_LENGTH);
    coef[KDIFF_COEF.sigma] = this.sigmas[i];
    coef[KDIFF_COEF.cfg] = this.cfg ?? 1;
    coef[KDIFF_COEF.inputScaleNext] = this.modelInputScale(i + 1);
    if (this.config.method === 'lcm') {
      coef[KDIFF_COEF.xCoeff] = 0;
      coef[KDIFF_COEF.expm1] = -1;
      coef[KDIFF_COEF.dCoeff] = 1;
      coef[KDIFF_COEF.prevCoeff] = 0;
      coef[KDIFF_COEF.noiseCoeff] = this.sigmas[i + 1];
    } else {
      const c = this.multistep(i, i > 0);
      coef[KDIFF_COEF.xCoeff] = c.xCoeff;
      coef[KDIFF_COEF.expm1] = c.expm1;
      coef[KDIFF_COEF.dCoeff] = c.dCoeff;
      coef[KDIFF_COEF.prevCoeff] = c.prevCoeff;
      coef[KDIFF_COEF.noiseCoeff] = 0;
    }
    return coef;
  }
}
