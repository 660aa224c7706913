/**
 * Model-agnostic sampling loop for one Stable Cascade stage (Stage C or Stage B). The pipeline supplies the
 * network as an async callback and the noise source (normally TorchGenerator.randn); this module owns the
 * schedule, the guidance, the update rule and the order of random draws.
 *
 * Draw order (as in the references): noise(shape) once for the initial latent (unless xInit is given), then one
 * noise(shape) after the model call of every step whose sampler asks for one (gdf and diffusers: every step
 * including the last; LCM: every step but the last; DPM++(2M): none). A pipeline sharing one generator between
 * Stage C and Stage B therefore reproduces PyTorch's global-generator stream: C init, C steps…, B init, B steps….
 */
import { shapeNumel } from '../../core/torch-generator.ts';
import { createStageSampler } from './create-stage-sampler.ts';
import type { SamplerConfig } from './presets.ts';
import type { SamplerStepResult } from './stage-sampler.ts';

/** One network evaluation requested by the sampler. */
export interface ModelCall {
  /** Step index, 0 … steps − 1. */
  readonly step: number;
  /** Network input latent, Float32Array [Bm, C, H, W]; when guided, rows [0, B) and [B, 2B) are the same x. */
  readonly x: Float32Array;
  /** [Bm, C, H, W] with Bm = 2B when guided, else B. */
  readonly shape: readonly number[];
  /** Time input r per row, Float32Array [Bm] (one value repeated). */
  readonly r: Float32Array;
  /** True: the model must use [cond; uncond] conditioning (rows [0, B) conditional, [B, 2B) unconditional). */
  readonly guided: boolean;
}

/** The network: returns the ε prediction, Float32Array with the shape of call.x. */
export type StageModel = (call: ModelCall) => Promise<Float32Array>;

/** Standard normal draw of the given shape, Float32Array [numel(shape)], row-major. */
export type NoiseSource = (shape: readonly number[]) => Float32Array;

export interface StepInfo extends SamplerStepResult {
  readonly step: number;
  readonly steps: number;
  /** The schedule value of this step: t (gdf/diffusers linspace value) or σ (k-diffusion samplers). */
  readonly t: number;
  /** r given to the model at this step. */
  readonly r: number;
  /** The noise drawn at this step, Float32Array [B, C, H, W]; undefined when the sampler draws none here. */
  readonly noise: Float32Array | undefined;
}

export interface SampleStageOptions {
  /** Latent shape [B, C, H, W] (B = images, without the CFG doubling). */
  shape: readonly number[];
  steps: number;
  /** CFG weight; null = no guidance. Whether a weight guides is the sampler's rule (createStageSampler). */
  cfg: number | null;
  sampler: SamplerConfig;
  model: StageModel;
  noise: NoiseSource;
  /** Replaces the first noise draw (the sampler still scales it into the start latent), Float32Array [B, C, H, W]. */
  xInit?: Float32Array;
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Checked before every model call; aborting rejects with signal.reason. */
  signal?: AbortSignal;
}

export interface SampleStageResult {
  /** What the stage passes on: last x0 (official) or final x (diffusers), Float32Array [B, C, H, W]. */
  result: Float32Array;
  /** Last x0 prediction and final latent, Float32Array [B, C, H, W] each. */
  x0: Float32Array;
  x: Float32Array;
  shape: readonly number[];
}

export async function sampleStage(options: SampleStageOptions): Promise<SampleStageResult> {
  const { shape, steps, cfg, model, noise, onStep, signal } = options;
  if (shape.length < 1 || shape[0] < 1) throw new Error(`latent shape must start with a batch size ≥ 1, got ${JSON.stringify(shape)}`);
  const n = shapeNumel(shape);
  const sampler = createStageSampler(options.sampler, steps, cfg);
  const { guided } = sampler;

  const draw = (): Float32Array => {
    const z = noise(shape);
    if (z.length !== n) throw new Error(`noise source returned ${z.length} values for shape ${JSON.stringify(shape)} (${n})`);
    return z;
  };
  if (options.xInit && options.xInit.length !== n) throw new Error(`xInit has ${options.xInit.length} values, shape ${JSON.stringify(shape)} needs ${n}`);
  let x = sampler.startLatent(options.xInit ?? draw());

  const modelShape = guided ? [2 * shape[0], ...shape.slice(1)] : [...shape];
  let x0: Float32Array | undefined;
  for (let i = 0; i < steps; i++) {
    signal?.throwIfAborted();
    const r = sampler.modelTime(i);
    const scale = sampler.modelInputScale(i);
    const scaled = scale === 1 ? x : x.map((v) => v * scale);
    let modelX = scaled;
    if (guided) {
      modelX = new Float32Array(2 * n);
      modelX.set(scaled, 0);
      modelX.set(scaled, n);
    }
    const modelOut = await model({ step: i, x: modelX, shape: modelShape, r: new Float32Array(modelShape[0]).fill(r), guided });
    if (modelOut.length !== modelX.length) {
      throw new Error(`model returned ${modelOut.length} values at step ${i}, expected ${modelX.length} for shape ${JSON.stringify(modelShape)}`);
    }
    const z = sampler.drawsNoise(i) ? draw() : undefined;
    const res = sampler.step(i, { x, modelOut, noise: z, prevX0: x0 });
    x = res.x;
    x0 = res.x0;
    await onStep?.({ ...res, step: i, steps, t: sampler.level(i), r, noise: z });
  }
  return { result: sampler.output === 'x0' ? x0! : x, x0: x0!, x, shape: [...shape] };
}
