/**
 * The one interface every stage sampler implements, in the role of a diffusers scheduler: a sampler is built for
 * a fixed step count and guidance weight (createStageSampler in presets.ts) and then answers, per step, what the
 * loop must feed the network and how to update the latent. The host loop (sample-stage.ts) and the device loop
 * (device-sampler.ts) drive every formulation through it without knowing which one it is.
 *
 * Latents are Float32Array [B, C, H, W] (row-major) on the host; the device runs the same update as a weightless
 * step graph (models/pipeline-graphs.ts) fed with `stepCoefficients(i)`.
 */

/** Result of one sampler step; each Float32Array has the latent shape [B, C, H, W]. */
export interface SamplerStepResult {
  /** The (guided) ε prediction used for the step. */
  pred: Float32Array;
  /** Clean-latent estimate at the current level (gdf/diffusers x0, k-diffusion `denoised`). */
  x0: Float32Array;
  /** The latent at the next level. */
  x: Float32Array;
}

export interface HostStepInput {
  /** Current latent, Float32Array [B, C, H, W]. */
  x: Float32Array;
  /** Network output: [2B, C, H, W] ([cond; uncond]) when guided, else [B, C, H, W]. */
  modelOut: Float32Array;
  /** The standard normal draw of this step, [B, C, H, W]; present exactly when drawsNoise(i). */
  noise?: Float32Array;
  /** x0 of the previous step, [B, C, H, W]; absent at step 0 (multistep samplers use it). */
  prevX0?: Float32Array;
}

/** The device step graphs (pipeline-graphs.ts): DDPM in x0 form (gdf, diffusers) or k-diffusion σ form. */
export type StepGraphKind = 'ddpm' | 'kdiffusion';

export interface StageSampler {
  readonly steps: number;
  /** True: the network runs on [cond; uncond] rows and CFG applies; false: on the conditional rows only. */
  readonly guided: boolean;
  /** What the stage passes on: the last x0 (official notebook) or the final x. */
  readonly output: 'x0' | 'x';
  /** The device graph that runs `stepCoefficients`. */
  readonly stepGraph: StepGraphKind;
  /** True when the step graph takes the previous step's x0 as `x0_prev` (zeros at step 0). */
  readonly usesPreviousX0: boolean;
  /** Time input r of the network at step i. */
  modelTime(i: number): number;
  /** The schedule value of step i for reports: t_i (gdf, diffusers) or σ_i (k-diffusion); i ≤ steps. */
  level(i: number): number;
  /** Factor turning the latent into the network's x input at step i (1: the latent itself). */
  modelInputScale(i: number): number;
  /** The start latent from the first standard-normal draw [B, C, H, W] (a new array). */
  startLatent(noise: Float32Array): Float32Array;
  /** True when step i consumes a fresh standard-normal draw of the latent shape after its network call. */
  drawsNoise(i: number): boolean;
  /** The update of step i on the host, rounded to float32 as the reference implementation computes it. */
  step(i: number, input: HostStepInput): SamplerStepResult;
  /** The scalars of step i for the device step graph, in that graph's coefficient layout. */
  stepCoefficients(i: number): Float32Array;
}

/** Throws unless the model output and noise fit the latent (shared by the implementations). */
export function checkStepInput(sampler: StageSampler, i: number, input: HostStepInput): void {
  const n = input.x.length;
  const expected = sampler.guided ? 2 * n : n;
  if (input.modelOut.length !== expected) {
    throw new Error(`model output has ${input.modelOut.length} elements, expected ${expected} (${sampler.guided ? 'guided [cond; uncond]' : 'unguided'})`);
  }
  if (sampler.drawsNoise(i) && input.noise?.length !== n) throw new Error(`step ${i} needs a noise draw of ${n} elements, got ${input.noise?.length ?? 'none'}`);
}
