/**
 * Stable Cascade's noise schedule in the σ (k-diffusion) parametrisation, as ComfyUI defines it
 * (comfy/model_sampling.py StableCascadeSampling; golden README "The samplers SoteDiffusion v2 recommends"), and
 * the σ schedules ComfyUI offers for it (comfy/samplers.py normal_scheduler / sgm_uniform, k-diffusion's
 * get_sigmas_exponential and get_sigmas_karras).
 *
 * Emulated in float32 operation by operation like cosine-schedule.ts: the network's time input r = timestep(σ)
 * is multiplied by 10000 inside the r embedding, so it must match PyTorch's float32 value to the last bit.
 * acos here is the correctly rounded one (float64 Math.acos rounded to float32): the golden ComfyUI-style
 * trajectories need it (σ = 2.0117 gives r = 0.70398992; glibc's fdlibm acosf, which the gdf goldens need in
 * cosine-schedule.ts, gives one ulp less).
 */
import { COSINE_MIN_VAR, COSINE_S, cosineAlphaBarUnclamped, linspaceF32, sigmoidF32 } from './cosine-schedule.ts';

const f = Math.fround;
const ONE_PLUS_S = f(1 + COSINE_S);
const ALPHA_BAR_MIN = f(0.0001);
const ALPHA_BAR_MAX = f(0.9999);
const HALF_PI_F32 = f(Math.PI * 0.5);

export const SIGMA_SCHEDULES = ['sgm_uniform', 'normal', 'karras', 'exponential'] as const;
export type SigmaScheduleName = (typeof SIGMA_SCHEDULES)[number];

/**
 * σ(t) with a shift: ā = cos²((t+s)/(1+s)·π/2)/ā₀; shift ≠ 1: logSNR = ln(ā/(1−ā)) + 2·ln(1/shift), ā = sigmoid;
 * clamp ā to [1e-4, 0.9999]; σ = √((1−ā)/ā). Float32 like StableCascadeSampling.sigma on a float32 t.
 */
export function cascadeSigma(t: number, shift: number): number {
  if (!(shift > 0)) throw new Error(`shift must be > 0, got ${shift}`);
  let alphaBar = cosineAlphaBarUnclamped(f(t), false);
  if (shift !== 1) {
    const logSNR = f(Math.log(f(alphaBar / f(1 - alphaBar))));
    // `2 * torch.log(1.0 / torch.tensor(shift))`: float32 tensor ops.
    const offset = f(2 * f(Math.log(f(1 / f(shift)))));
    alphaBar = sigmoidF32(f(logSNR + offset));
  }
  alphaBar = Math.min(Math.max(alphaBar, ALPHA_BAR_MIN), ALPHA_BAR_MAX);
  return f(Math.sqrt(f(f(1 - alphaBar) / alphaBar)));
}

/**
 * The network's time input for σ (StableCascadeSampling.timestep): v = clamp(1/(σ²+1), 0, 1);
 * r = acos(√(v·ā₀))/(π/2)·(1+s) − s — the unshifted inverse, as ComfyUI feeds Stage C/B. Float32.
 */
export function cascadeTimestep(sigma: number): number {
  const v = Math.min(Math.max(f(1 / f(f(sigma * sigma) + 1)), 0), 1);
  const root = f(Math.sqrt(f(v * COSINE_MIN_VAR)));
  return f(f(f(f(Math.acos(root)) / HALF_PI_F32) * ONE_PLUS_S) - COSINE_S);
}

/** σ_min = σ(1e-4) and σ_max = σ(1): the ends of ComfyUI's 10000-entry table (t = k/10000, k = 1…10000). */
export function cascadeSigmaRange(shift: number): { sigmaMin: number; sigmaMax: number } {
  return { sigmaMin: cascadeSigma(f(1 / 10000), shift), sigmaMax: cascadeSigma(1, shift) };
}

/**
 * The σ list of a schedule: `steps` values from σ_max down, then 0 (Float32Array [steps + 1]).
 * - sgm_uniform: t_i = linspace(timestep(σ_max), timestep(σ_min), steps + 1)[:steps], σ_i = σ(t_i);
 * - normal: the same with linspace(…, steps) (both ends included);
 * - exponential: exp(linspace(ln σ_max, ln σ_min, steps));
 * - karras (ρ = 7): (σ_max^{1/ρ} + ramp·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, ramp = linspace(0, 1, steps).
 */
export function cascadeSigmas(schedule: SigmaScheduleName, steps: number, shift: number): Float32Array {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const { sigmaMin, sigmaMax } = cascadeSigmaRange(shift);
  const out = new Float32Array(steps + 1);
  switch (schedule) {
    case 'sgm_uniform':
    case 'normal': {
      const n = schedule === 'sgm_uniform' ? steps + 1 : steps;
      const t = linspaceF32(cascadeTimestep(sigmaMax), cascadeTimestep(sigmaMin), n);
      for (let i = 0; i < steps; i++) out[i] = cascadeSigma(t[i], shift);
      break;
    }
    case 'exponential': {
      const logs = linspaceF32(Math.log(sigmaMax), Math.log(sigmaMin), steps);
      for (let i = 0; i < steps; i++) out[i] = f(Math.exp(logs[i]));
      break;
    }
    case 'karras': {
      const rho = 7;
      const ramp = linspaceF32(0, 1, steps);
      const minInv = sigmaMin ** (1 / rho);
      const maxInv = sigmaMax ** (1 / rho);
      const span = f(minInv - maxInv);
      for (let i = 0; i < steps; i++) out[i] = f(f(f(maxInv) + f(ramp[i] * span)) ** rho);
      break;
    }
    default:
      throw new Error(`unknown σ schedule "${schedule as string}"; known: ${SIGMA_SCHEDULES.join(', ')}`);
  }
  return out;
}
