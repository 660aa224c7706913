/**
 * Model-agnostic sampling loop for one Stable Cascade stage (Stage C or Stage B). The pipeline supplies the
 * network as an async callback and the noise source (normally TorchGenerator.randn); this module owns the
 * schedule, the guidance, the update rule and the order of random draws.
 *
 * Draw order (both formulations, as in the references): noise(shape) once for the initial latent (unless xInit is
 * given), then exactly one noise(shape) per step, including the last step, after that step's model call. A
 * pipeline sharing one generator between Stage C and Stage B therefore reproduces PyTorch's global-generator
 * stream: C init, C steps…, B init, B steps….
 */
import { shapeNumel } from '../torch-generator.ts';
import { cosineLogSNR, cosineNoiseCond, linspaceF32 } from './cosine-schedule.ts';
import { diffusersStep, diffusersUsesCfg } from './diffusers-sampler.ts';
import { gdfStep, type SamplerStepResult } from './gdf-sampler.ts';
import type { SamplerConfig } from './presets.ts';

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
  /** t of this step (linspace value). */
  readonly t: number;
  /** r given to the model at this step. */
  readonly r: number;
  /** The noise drawn at this step, Float32Array [B, C, H, W]. */
  readonly noise: Float32Array;
}

export interface SampleStageOptions {
  /** Latent shape [B, C, H, W] (B = images, without the CFG doubling). */
  shape: readonly number[];
  steps: number;
  /** CFG weight; null = no guidance. gdf guides whenever it is non-null, diffusers only when it exceeds 1. */
  cfg: number | null;
  sampler: SamplerConfig;
  model: StageModel;
  noise: NoiseSource;
  /** Start latent instead of the first noise draw, Float32Array [B, C, H, W]. */
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

/** Per-step scalars of a stage: t_i, the model input r_i and (gdf only) logSNR_i, arrays of length steps + 1. */
export interface StageSchedule {
  t: Float32Array;
  r: Float32Array;
  logSNR: Float32Array | null;
}

export function stageSchedule(sampler: SamplerConfig, steps: number): StageSchedule {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const t = linspaceF32(1, 0, steps + 1);
  if (sampler.kind === 'diffusers') return { t, r: Float32Array.from(t), logSNR: null };
  const logSNR = t.map((ti) => cosineLogSNR(ti, sampler.shift));
  const r = sampler.rMode === 't' ? Float32Array.from(t) : logSNR.map(cosineNoiseCond);
  return { t, r, logSNR };
}

export async function sampleStage(options: SampleStageOptions): Promise<SampleStageResult> {
  const { shape, steps, cfg, sampler, model, noise, onStep, signal } = options;
  if (shape.length < 1 || shape[0] < 1) throw new Error(`latent shape must start with a batch size ≥ 1, got ${JSON.stringify(shape)}`);
  const n = shapeNumel(shape);
  const schedule = stageSchedule(sampler, steps);
  const guided = sampler.kind === 'diffusers' ? diffusersUsesCfg(cfg) : cfg !== null;
  const w = cfg ?? 0;

  const draw = (): Float32Array => {
    const z = noise(shape);
    if (z.length !== n) throw new Error(`noise source returned ${z.length} values for shape ${JSON.stringify(shape)} (${n})`);
    return z;
  };
  let x: Float32Array;
  if (options.xInit) {
    if (options.xInit.length !== n) throw new Error(`xInit has ${options.xInit.length} values, shape ${JSON.stringify(shape)} needs ${n}`);
    x = Float32Array.from(options.xInit);
  } else {
    x = draw();
  }

  const modelShape = guided ? [2 * shape[0], ...shape.slice(1)] : [...shape];
  let x0 = x;
  for (let i = 0; i < steps; i++) {
    signal?.throwIfAborted();
    const r = schedule.r[i];
    let modelX = x;
    if (guided) {
      modelX = new Float32Array(2 * n);
      modelX.set(x, 0);
      modelX.set(x, n);
    }
    const modelOut = await model({ step: i, x: modelX, shape: modelShape, r: new Float32Array(modelShape[0]).fill(r), guided });
    if (modelOut.length !== modelX.length) {
      throw new Error(`model returned ${modelOut.length} values at step ${i}, expected ${modelX.length} for shape ${JSON.stringify(modelShape)}`);
    }
    const z = draw();
    const res = sampler.kind === 'diffusers'
      ? diffusersStep({ x, modelOut, guided, cfg: w, t: schedule.t[i], tPrev: schedule.t[i + 1], noise: z })
      : gdfStep({ x, modelOut, guided, cfg: w, rho: sampler.rho, logSNR: schedule.logSNR![i], logSNRNext: schedule.logSNR![i + 1], noise: z });
    x = res.x;
    x0 = res.x0;
    await onStep?.({ ...res, step: i, steps, t: schedule.t[i], r, noise: z });
  }
  const useX0 = sampler.kind === 'gdf' && sampler.output === 'x0';
  return { result: useX0 ? x0 : x, x0, x, shape: [...shape] };
}
