/**
 * A stage's sampling loop with the latents kept in the engine (GPU buffers on WebGPU): the host draws noise
 * with PyTorch's generator and uploads it with the per-step scalars; the update runs as a small graph
 * (pipeline-graphs.ts). Mirrors samplers/sample-stage.ts (the pure host version) draw for draw.
 */
import type { Tensor } from 'onnxruntime-common';
import type { EngineSession, OrtEngine } from '../engine/ort-engine.ts';
import { buildDuplicateGraph, buildSamplerStepGraph, compileWeightless, STEP_COEF, STEP_COEF_LENGTH } from '../models/pipeline-graphs.ts';
import { diffusersStepCoefficients, diffusersUsesCfg } from './samplers/diffusers-sampler.ts';
import { gdfStepCoefficients } from './samplers/gdf-sampler.ts';
import type { SamplerConfig } from './samplers/presets.ts';
import { stageSchedule, type StageSchedule } from './samplers/sample-stage.ts';

export interface SamplerGraphs {
  step: EngineSession;
  stepGuided: EngineSession;
  duplicate: EngineSession;
}

export async function loadSamplerGraphs(engine: OrtEngine): Promise<SamplerGraphs> {
  return {
    step: await engine.createSession(await compileWeightless(buildSamplerStepGraph(false))),
    stepGuided: await engine.createSession(await compileWeightless(buildSamplerStepGraph(true))),
    duplicate: await engine.createSession(await compileWeightless(buildDuplicateGraph())),
  };
}

export async function releaseSamplerGraphs(graphs: SamplerGraphs): Promise<void> {
  for (const s of Object.values(graphs)) await s.release();
}

/** gdf guides whenever a weight is given; diffusers only above 1 (do_classifier_free_guidance). */
export function isGuided(sampler: SamplerConfig, cfg: number): boolean {
  return sampler.kind === 'diffusers' ? diffusersUsesCfg(cfg) : true;
}

export interface DeviceStepTensors {
  step: number;
  steps: number;
  /** r given to the network at this step. */
  r: number;
  /** Network output [Bm,C,H,W] (Bm = 2B when guided). */
  eps: Tensor;
  /** x0 prediction and next latent, [B,C,H,W]. */
  x0: Tensor;
  x: Tensor;
}

export interface DeviceSampleOptions {
  engine: OrtEngine;
  graphs: SamplerGraphs;
  sampler: SamplerConfig;
  steps: number;
  cfg: number;
  /** Latent shape [B,C,H,W] (B = images). */
  shape: number[];
  /** Standard normal draws, in order: x_T (unless xInit), then one per step. */
  noise: (shape: readonly number[]) => Float32Array;
  xInit?: Float32Array;
  /** The network: x [Bm,C,H,W], r [Bm] → ε [Bm,C,H,W]. */
  model: (x: Tensor, r: Tensor) => Promise<Tensor>;
  /** Called after each step; tensors are valid only during the call (read them here if needed). */
  onStep?: (t: DeviceStepTensors) => void | Promise<void>;
  signal?: AbortSignal;
}

/** @returns the stage result [B,C,H,W]: the last x0 (official) or the final x (diffusers). */
export async function sampleStageOnDevice(o: DeviceSampleOptions): Promise<Tensor> {
  const { engine, graphs, sampler, steps, shape } = o;
  const schedule = stageSchedule(sampler, steps);
  const guided = isGuided(sampler, o.cfg);
  const rows = guided ? 2 * shape[0] : shape[0];
  let x = engine.f32(o.xInit ? Float32Array.from(o.xInit) : o.noise(shape), shape);
  let xModel = guided ? (await graphs.duplicate.run({ a: x })).pair : x;
  let x0: Tensor | undefined;
  for (let i = 0; i < steps; i++) {
    // Awaiting the engine never yields to the event loop on WASM: without this a cancel message waits in the
    // worker's queue until the generation ends.
    if (o.signal) await new Promise((resolve) => setTimeout(resolve, 0));
    o.signal?.throwIfAborted();
    const r = schedule.r[i];
    const eps = await o.model(xModel, engine.f32(new Float32Array(rows).fill(r), [rows]));
    const noise = engine.f32(o.noise(shape), shape);
    const coef = engine.f32(stepCoefficients(sampler, schedule, i, o.cfg), [STEP_COEF_LENGTH]);
    const out = await (guided ? graphs.stepGuided : graphs.step).run({ x, eps, noise, coef });
    await o.onStep?.({ step: i, steps, r, eps, x0: out.x0, x: out.x_next });
    engine.dispose(eps);
    if (xModel !== x) engine.dispose(xModel);
    engine.dispose(x);
    if (x0) engine.dispose(x0);
    x = out.x_next;
    x0 = out.x0;
    xModel = guided ? out.x_model : x;
  }
  if (xModel !== x) engine.dispose(xModel);
  if (sampler.kind === 'gdf' && sampler.output === 'x0') {
    engine.dispose(x);
    return x0!;
  }
  if (x0) engine.dispose(x0);
  return x;
}

/** The step graph's coefficient vector for step i (see STEP_COEF). */
export function stepCoefficients(sampler: SamplerConfig, schedule: StageSchedule, i: number, cfg: number): Float32Array {
  const coef = new Float32Array(STEP_COEF_LENGTH);
  if (sampler.kind === 'gdf') {
    const c = gdfStepCoefficients(schedule.logSNR![i], schedule.logSNR![i + 1]);
    coef[STEP_COEF.a] = c.a;
    coef[STEP_COEF.b] = c.b;
    coef[STEP_COEF.aNext] = c.aNext;
    coef[STEP_COEF.epsCoeff] = c.epsCoeff;
    coef[STEP_COEF.noiseCoeff] = c.sigma;
    coef[STEP_COEF.rho] = sampler.rho;
  } else {
    // DDPMWuerstchen in x0 form: a = √ᾱ(t), b = √(1−ᾱ(t)), a' = √ᾱ(t'), ε-coefficient √(1−ᾱ(t')−σ²) with the
    // unmasked σ, and noise σ·mask (the last step adds none although a draw is made).
    const d = diffusersStepCoefficients(schedule.t[i], schedule.t[i + 1]);
    coef[STEP_COEF.a] = Math.sqrt(d.alphaCumprod);
    coef[STEP_COEF.b] = Math.sqrt(1 - d.alphaCumprod);
    coef[STEP_COEF.aNext] = Math.sqrt(d.alphaCumprodPrev);
    coef[STEP_COEF.epsCoeff] = Math.sqrt(Math.max(0, 1 - d.alphaCumprodPrev - d.sigma * d.sigma));
    coef[STEP_COEF.noiseCoeff] = d.sigma * d.noiseMask;
    coef[STEP_COEF.rho] = 0;
  }
  coef[STEP_COEF.cfg] = cfg;
  return coef;
}
