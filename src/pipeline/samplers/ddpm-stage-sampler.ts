/**
 * What the two DDPM-form samplers (gdf, diffusers) share: a t grid [steps + 1] from 1 to 0 as the reported level,
 * the latent fed to the network as is, the start latent equal to the first draw (variance 1 at t = 1), and one
 * fresh draw per step. Subclasses set the grid, the network's time input and the update.
 */
import type { HostStepInput, SamplerStepResult, StageSampler, StepGraphKind } from './stage-sampler.ts';

export abstract class DdpmStageSampler implements StageSampler {
  readonly stepGraph: StepGraphKind = 'ddpm';
  readonly usesPreviousX0 = false;
  abstract readonly guided: boolean;
  abstract readonly output: 'x0' | 'x';
  /** t_i, Float32Array [steps + 1]. */
  abstract readonly t: Float32Array;

  constructor(readonly steps: number, readonly cfg: number | null) {}

  abstract modelTime(i: number): number;
  abstract step(i: number, input: HostStepInput): SamplerStepResult;
  abstract stepCoefficients(i: number): Float32Array;

  level(i: number): number {
    return this.t[i];
  }

  modelInputScale(): number {
    return 1;
  }

  startLatent(noise: Float32Array): Float32Array {
    return Float32Array.from(noise);
  }

  drawsNoise(): boolean {
    return true;
  }
}
