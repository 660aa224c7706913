/**
 * The sampler choices beyond the hosted schema, as the API and the CLI name them (`sampler`, `scheduler`,
 * `second_stage_sampler`, `second_stage_scheduler`; `--sampler`, …), their A1111 display names (PNG parameters,
 * gallery), and the pipeline's StageSamplerChoice for each. Shared by src/client (API schema, page) and the CLI.
 *
 * `ddpm` is the default on both stages and means the sampler the pipeline used before these options existed
 * (the official gdf DDPM sampler), so requests without them generate exactly what they did.
 */
import { SIGMA_SCHEDULES, type SigmaScheduleName } from './cascade-sigmas.ts';
import type { StageSamplerChoice } from './presets.ts';

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

/** The pipeline's choice for one stage (the scheduler only matters for a k-diffusion sampler). */
export function stageSamplerChoice(sampler: FirstStageSampler | SecondStageSampler, scheduler: Scheduler): StageSamplerChoice {
  return sampler === 'ddpm' ? { method: 'ddpm' } : { method: sampler, schedule: scheduler };
}

/** `Sampler` / `Schedule type` values for one stage; the schedule only for a k-diffusion sampler. */
export function samplerLabel(sampler: FirstStageSampler | SecondStageSampler, scheduler: Scheduler): { sampler: string; scheduleType?: string } {
  return sampler === 'ddpm' ? { sampler: SAMPLER_LABELS.ddpm } : { sampler: SAMPLER_LABELS[sampler], scheduleType: SCHEDULER_LABELS[scheduler] };
}
