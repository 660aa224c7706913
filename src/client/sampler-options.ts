/**
 * The sampler choices offered beyond the hosted schema (API extensions `sampler`, `scheduler`,
 * `second_stage_sampler`, `second_stage_scheduler`), their A1111 display names (PNG parameters, gallery) and the
 * "SoteDiffusion v2 recommended" preset from the model card (ComfyUI: DPM++ 2M + sgm_uniform, 28 steps, CFG 6 for
 * Stage C; LCM + exponential, 14 steps, CFG 1 for Stage B).
 *
 * `ddpm` is the default on both stages and means the sampler the pipeline used before these options existed
 * (the official gdf DDPM sampler), so requests without them generate exactly what they did.
 */
import { SIGMA_SCHEDULES, type SigmaScheduleName } from '../pipeline/samplers/cascade-sigmas.ts';
import type { StageSamplerChoice } from '../pipeline/samplers/presets.ts';

export const FIRST_STAGE_SAMPLERS = ['ddpm', 'dpmpp_2m'] as const;
export const SECOND_STAGE_SAMPLERS = ['ddpm', 'lcm'] as const;
export const SCHEDULERS = SIGMA_SCHEDULES;
export type FirstStageSampler = (typeof FIRST_STAGE_SAMPLERS)[number];
export type SecondStageSampler = (typeof SECOND_STAGE_SAMPLERS)[number];
export type Scheduler = SigmaScheduleName;

/** The scheduler a k-diffusion sampler uses when none is given: the model card's choice for that stage. */
export const DEFAULT_SCHEDULER: Readonly<Record<'first' | 'second', Scheduler>> = { first: 'sgm_uniform', second: 'exponential' };

/** A1111's names (its `Sampler:` and `Schedule type:` values). */
export const SAMPLER_LABELS: Readonly<Record<FirstStageSampler | SecondStageSampler, string>> = {
  ddpm: 'DDPM',
  dpmpp_2m: 'DPM++ 2M',
  lcm: 'LCM',
};
export const SCHEDULER_LABELS: Readonly<Record<Scheduler, string>> = {
  sgm_uniform: 'SGM Uniform',
  normal: 'Normal',
  karras: 'Karras',
  exponential: 'Exponential',
};

/** The sampler settings of a request (API field names). */
export interface SamplerSettings {
  sampler: FirstStageSampler;
  scheduler: Scheduler;
  second_stage_sampler: SecondStageSampler;
  second_stage_scheduler: Scheduler;
}

export const DEFAULT_SAMPLER_SETTINGS: Readonly<SamplerSettings> = {
  sampler: 'ddpm',
  scheduler: DEFAULT_SCHEDULER.first,
  second_stage_sampler: 'ddpm',
  second_stage_scheduler: DEFAULT_SCHEDULER.second,
};

/** SoteDiffusion v2's recommended settings (model card), as API fields. */
export const SOTE_V2_RECOMMENDED = {
  first_stage_steps: 28,
  guidance_scale: 6,
  sampler: 'dpmpp_2m',
  scheduler: 'sgm_uniform',
  second_stage_steps: 14,
  second_stage_guidance_scale: 1,
  second_stage_sampler: 'lcm',
  second_stage_scheduler: 'exponential',
} as const satisfies Partial<SamplerSettings> & Record<string, string | number>;

/** The pipeline's choice for one stage (the scheduler only matters for a k-diffusion sampler). */
export function stageSamplerChoice(sampler: FirstStageSampler | SecondStageSampler, scheduler: Scheduler): StageSamplerChoice {
  return sampler === 'ddpm' ? { method: 'ddpm' } : { method: sampler, schedule: scheduler };
}

/** `Sampler` / `Schedule type` values for one stage; the schedule only for a k-diffusion sampler. */
export function samplerLabel(sampler: FirstStageSampler | SecondStageSampler, scheduler: Scheduler): { sampler: string; scheduleType?: string } {
  return sampler === 'ddpm' ? { sampler: SAMPLER_LABELS.ddpm } : { sampler: SAMPLER_LABELS[sampler], scheduleType: SCHEDULER_LABELS[scheduler] };
}

/** The sampler settings recorded in a PNG's parameters (any unknown sampler name reads as DDPM). */
export function samplerSettingsFromLabels(labels: { sampler: string; scheduleType?: string; secondStageSampler?: string; secondStageScheduleType?: string }): SamplerSettings {
  const schedule = (label: string | undefined, fallback: Scheduler): Scheduler =>
    (Object.entries(SCHEDULER_LABELS).find(([, l]) => l === label)?.[0] as Scheduler | undefined) ?? fallback;
  return {
    sampler: labels.sampler === SAMPLER_LABELS.dpmpp_2m ? 'dpmpp_2m' : 'ddpm',
    scheduler: schedule(labels.scheduleType, DEFAULT_SCHEDULER.first),
    second_stage_sampler: labels.secondStageSampler === SAMPLER_LABELS.lcm ? 'lcm' : 'ddpm',
    second_stage_scheduler: schedule(labels.secondStageScheduleType, DEFAULT_SCHEDULER.second),
  };
}
