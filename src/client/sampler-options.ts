/**
 * The sampler options of a request beyond the hosted schema, as the API and the page hold them (API field names),
 * and the "SoteDiffusion v2 recommended" preset from the model card (ComfyUI: DPM++ 2M + sgm_uniform, 28 steps,
 * CFG 6 for Stage C; LCM + exponential, 14 steps, CFG 1 for Stage B). The choices themselves, their display names
 * and defaults are the pipeline's (pipeline/samplers/sampler-choices.ts, shared with the CLI).
 */
import { DEFAULT_SCHEDULER, SAMPLER_LABELS, SCHEDULER_LABELS, type FirstStageSampler, type Scheduler, type SecondStageSampler } from '../pipeline/samplers/sampler-choices.ts';

export {
  DEFAULT_SCHEDULER, FIRST_STAGE_SAMPLERS, SAMPLER_LABELS, samplerLabel, SCHEDULER_LABELS, SCHEDULERS, SECOND_STAGE_SAMPLERS,
  stageSamplerChoice, type FirstStageSampler, type Scheduler, type SecondStageSampler,
} from '../pipeline/samplers/sampler-choices.ts';

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
