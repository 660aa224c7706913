/**
 * From a stage's sampler config to its StageSampler. Its own module, so the sampler implementations can take their
 * config types from presets.ts without presets.ts importing them back.
 */
import { DiffusersStageSampler } from './diffusers-sampler.ts';
import { GdfStageSampler } from './gdf-sampler.ts';
import { KDiffusionStageSampler } from './kdiffusion-sampler.ts';
import type { SamplerConfig } from './presets.ts';
import type { StageSampler } from './stage-sampler.ts';

/**
 * The sampler of one stage for `steps` steps at guidance weight `cfg` (the only place that looks at the kind).
 * A null weight means no guidance; otherwise gdf guides at any weight, diffusers only above 1, k-diffusion at any
 * weight but 1.
 */
export function createStageSampler(config: SamplerConfig, steps: number, cfg: number | null): StageSampler {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  switch (config.kind) {
    case 'gdf':
      return new GdfStageSampler(config, steps, cfg);
    case 'diffusers':
      return new DiffusersStageSampler(steps, cfg);
    case 'kdiffusion':
      return new KDiffusionStageSampler(config, steps, cfg);
  }
}
