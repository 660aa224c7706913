/**
 * The page's sampler controls: per stage a sampler select and a schedule select (the schedule only applies to
 * the k-diffusion samplers and is disabled for DDPM), the one-click "SoteDiffusion v2 recommended" preset, and
 * how the sampler settings appear in the PNG parameters (A1111 names) and on a gallery card.
 */
import type { GenerationRequest } from '../client/protocol.ts';
import {
  FIRST_STAGE_SAMPLERS, SAMPLER_LABELS, samplerLabel, SCHEDULER_LABELS, SCHEDULERS, SECOND_STAGE_SAMPLERS, SOTE_V2_RECOMMENDED,
  stageSamplerChoice, type SamplerSettings, type Scheduler,
} from '../client/sampler-options.ts';
import { h } from './dom.ts';

/** The `Sampler:` value this page writes for the default DDPM sampler (kept from before the k-diffusion samplers). */
export const DDPM_LABEL = 'DDPM (Stable Cascade official)';

/** The recommended preset as a settings patch (steps, guidance, samplers, schedules of both stages). */
export const RECOMMENDED_PRESET = SOTE_V2_RECOMMENDED;

export interface SamplerControls {
  element: HTMLElement;
  /** Shows the given settings (after a preset, a dropped PNG or "Reuse settings"). */
  sync(s: SamplerSettings): void;
}

/**
 * @param onChange called with the changed field when the user picks a sampler or schedule
 * @param onRecommended called when the preset button is pressed
 */
export function samplerControls(onChange: (patch: Partial<SamplerSettings>) => void, onRecommended: () => void): SamplerControls {
  const select = (name: keyof SamplerSettings, options: readonly string[], labels: Readonly<Record<string, string>>) => {
    const el = h('select', { name }, ...options.map((o) => h('option', { value: o }, labels[o])));
    el.addEventListener('change', () => onChange({ [name]: el.value } as Partial<SamplerSettings>));
    return el;
  };
  const labelled = (label: string, el: HTMLElement) => h('label', {}, label, el);
  const samplerC = select('sampler', FIRST_STAGE_SAMPLERS, SAMPLER_LABELS);
  const scheduleC = select('scheduler', SCHEDULERS, SCHEDULER_LABELS);
  const samplerB = select('second_stage_sampler', SECOND_STAGE_SAMPLERS, SAMPLER_LABELS);
  const scheduleB = select('second_stage_scheduler', SCHEDULERS, SCHEDULER_LABELS);
  const element = h('div', {},
    h('div', { class: 'row' }, labelled('Stage C sampler', samplerC), labelled('Stage C schedule', scheduleC)),
    h('div', { class: 'row' }, labelled('Stage B sampler', samplerB), labelled('Stage B schedule', scheduleB)),
    h('div', { class: 'row presets' },
      h('button', { type: 'button', name: 'preset-sote-v2', onclick: onRecommended }, 'SoteDiffusion v2 recommended'),
      h('span', { class: 'hint' }, 'Model card: 28 steps / CFG 6 DPM++ 2M SGM Uniform; 14 steps / CFG 1 LCM Exponential')));
  return {
    element,
    sync(s) {
      samplerC.value = s.sampler;
      scheduleC.value = s.scheduler;
      samplerB.value = s.second_stage_sampler;
      scheduleB.value = s.second_stage_scheduler;
      scheduleC.disabled = s.sampler === 'ddpm';
      scheduleB.disabled = s.second_stage_sampler === 'ddpm';
    },
  };
}

/** The pipeline's sampler choice of each stage. */
export function stageSamplers(s: SamplerSettings): { stageC: GenerationRequest['stageC']['sampler']; stageB: GenerationRequest['stageB']['sampler'] } {
  return { stageC: stageSamplerChoice(s.sampler, s.scheduler), stageB: stageSamplerChoice(s.second_stage_sampler, s.second_stage_scheduler) };
}

/** The sampler entries of the PNG parameters (A1111: `Sampler: DPM++ 2M, Schedule type: SGM Uniform`). */
export function samplerParameters(s: SamplerSettings): { sampler: string; scheduleType?: string; secondStageSampler?: string; secondStageScheduleType?: string } {
  const c = samplerLabel(s.sampler, s.scheduler);
  const b = samplerLabel(s.second_stage_sampler, s.second_stage_scheduler);
  return {
    sampler: s.sampler === 'ddpm' ? DDPM_LABEL : c.sampler,
    ...(c.scheduleType ? { scheduleType: c.scheduleType } : {}),
    ...(s.second_stage_sampler === 'ddpm' ? {} : { secondStageSampler: b.sampler, secondStageScheduleType: b.scheduleType }),
  };
}

/** One line for a gallery card, e.g. "DPM++ 2M SGM Uniform / LCM Exponential" (DDPM has no schedule name). */
export function samplerSummary(s: Partial<SamplerSettings>): string {
  const one = (sampler: keyof typeof SAMPLER_LABELS | undefined, scheduler: Scheduler | undefined) =>
    !sampler || sampler === 'ddpm' ? SAMPLER_LABELS.ddpm : `${SAMPLER_LABELS[sampler]} ${SCHEDULER_LABELS[scheduler ?? 'sgm_uniform']}`;
  return `${one(s.sampler, s.scheduler)} / ${one(s.second_stage_sampler, s.second_stage_scheduler)}`;
}
