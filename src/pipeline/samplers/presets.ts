/**
 * Sampler presets (spec §7.3 / §7.4). "official" reproduces the Stable Cascade inference notebook with the gdf
 * sampler; "diffusers" reproduces StableCascadePriorPipeline / DecoderPipeline with DDPMWuerstchenScheduler, which
 * is the most likely match for hosted (fal) results.
 */
import type { SigmaScheduleName } from './cascade-sigmas.ts';

/** Settings of the gdf formulation (GDF.sample + DDPMSampler). */
export interface GdfSamplerConfig {
  readonly kind: 'gdf';
  /** Schedule shift: logSNR − 2·ln(shift) before clamping (Stage C 2, Stage B 1 in the notebook). */
  readonly shift: number;
  /** CFG std-rescale strength cfg_rho (0.7 in gdf); 0 disables it. */
  readonly rho: number;
  /** Model time input: CosineTNoiseCond(logSNR) (official) or t itself. */
  readonly rMode: 'noiseCond' | 't';
  /** Stage result: the x0 prediction of the last step (official notebook) or the final x. */
  readonly output: 'x0' | 'x';
}

/** The diffusers DDPMWuerstchenScheduler formulation: r = t, no shift, no rescale, CFG only if w > 1, output x. */
export interface DiffusersSamplerConfig {
  readonly kind: 'diffusers';
}

/**
 * A k-diffusion sampler on Stable Cascade's σ schedule (kdiffusion-sampler.ts), as ComfyUI runs it: DPM++(2M) or
 * LCM, one of ComfyUI's σ schedules, and the stage's schedule shift (Stage C 2, Stage B 1).
 */
export interface KDiffusionSamplerConfig {
  readonly kind: 'kdiffusion';
  readonly method: KDiffusionMethod;
  readonly schedule: SigmaScheduleName;
  readonly shift: number;
}

export const KDIFFUSION_METHODS = ['dpmpp_2m', 'lcm'] as const;
export type KDiffusionMethod = (typeof KDIFFUSION_METHODS)[number];

export type SamplerConfig = GdfSamplerConfig | DiffusersSamplerConfig | KDiffusionSamplerConfig;

/** A stage's sampler as the API names it: the preset's DDPM sampler, or a k-diffusion method with a σ schedule. */
export type StageSamplerChoice = { readonly method: 'ddpm' } | { readonly method: KDiffusionMethod; readonly schedule: SigmaScheduleName };

/** Schedule shift of the k-diffusion samplers per stage (the notebook's shifts: Stage C 2, Stage B 1). */
export const KDIFFUSION_SHIFT: Readonly<Record<CascadeStage, number>> = { stageC: 2, stageB: 1 };

export type SamplerPresetName = 'official' | 'diffusers';
export type CascadeStage = 'stageC' | 'stageB';

export const SAMPLER_PRESETS: Readonly<Record<SamplerPresetName, Readonly<Record<CascadeStage, SamplerConfig>>>> = {
  official: {
    stageC: { kind: 'gdf', shift: 2, rho: 0.7, rMode: 'noiseCond', output: 'x0' },
    stageB: { kind: 'gdf', shift: 1, rho: 0.7, rMode: 'noiseCond', output: 'x0' },
  },
  diffusers: {
    stageC: { kind: 'diffusers' },
    stageB: { kind: 'diffusers' },
  },
};

export function samplerPreset(name: SamplerPresetName, stage: CascadeStage): SamplerConfig {
  const preset = SAMPLER_PRESETS[name];
  if (!preset) throw new Error(`unknown sampler preset "${name}"; known: ${Object.keys(SAMPLER_PRESETS).join(', ')}`);
  return preset[stage];
}

/** The sampler config of a stage: the preset's DDPM sampler, or the chosen k-diffusion sampler with the stage's shift. */
export function stageSamplerConfig(preset: SamplerPresetName, stage: CascadeStage, choice?: StageSamplerChoice): SamplerConfig {
  if (!choice || choice.method === 'ddpm') return samplerPreset(preset, stage);
  return { kind: 'kdiffusion', method: choice.method, schedule: choice.schedule, shift: KDIFFUSION_SHIFT[stage] };
}
