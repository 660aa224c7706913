/**
 * A stage's sampling loop with the latents kept in the engine (GPU buffers on WebGPU): the host draws noise
 * with PyTorch's generator and uploads it with the per-step scalars; the update runs as a small graph
 * (pipeline-graphs.ts). Mirrors samplers/sample-stage.ts (the pure host version) draw for draw.
 */
import type { Tensor } from 'onnxruntime-common';
import type { EngineSession, OrtEngine } from '../engine/ort-engine.ts';
import { buildSamplerStepGraph, compileWeightless } from '../models/pipeline-graphs.ts';
import { createStageSampler } from './samplers/create-stage-sampler.ts';
import type { SamplerConfig } from './samplers/presets.ts';
import type { StepGraphKind } from './samplers/stage-sampler.ts';
import { shapeNumel } from '../core/torch-generator.ts';

/**
 * The weightless step graphs, compiled on first use (one per graph kind and guidance). Never graph-captured:
 * their outputs x_next and x0 also feed other nodes, and onnxruntime-web 1.30 replays such outputs stale
 * (graph-capture.ts, measured in e2e/webgpu-graph-capture.test.ts).
 */
export class SamplerGraphs {
  private readonly sessions = new Map<string, Promise<EngineSession>>();
  constructor(private readonly engine: OrtEngine) {}

  step(kind: StepGraphKind, guided: boolean): Promise<EngineSession> {
    const key = `${kind}:${guided}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = compileWeightless(buildSamplerStepGraph(kind, guided)).then((m) => this.engine.createSession(m));
      this.sessions.set(key, s);
    }
    return s;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}

export async function loadSamplerGraphs(engine: OrtEngine): Promise<SamplerGraphs> {
  const graphs = new SamplerGraphs(engine);
  // The official sampler's graphs are needed by default: compile them up front so a generation's timing excludes it.
  await graphs.step('ddpm', true);
  return graphs;
}

export async function releaseSamplerGraphs(graphs: SamplerGraphs): Promise<void> {
  await graphs.release();
}

/** Whether the stage runs the network on [cond; uncond] at this weight (the sampler's rule). */
export function isGuided(sampler: SamplerConfig, cfg: number): boolean {
  return createStageSampler(sampler, 1, cfg).guided;
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
  /** The noise drawn at this step (host copy, [B,C,H,W]), or undefined when the sampler draws none here. */
  noise: Float32Array | undefined;
}

export interface DeviceSampleOptions {
  engine: OrtEngine;
  graphs: SamplerGraphs;
  sampler: SamplerConfig;
  steps: number;
  cfg: number;
  /** Latent shape [B,C,H,W] (B = images). */
  shape: number[];
  /** Standard normal draws, in order: the start draw (unless xInit), then one per step that the sampler asks for. */
  noise: (shape: readonly number[]) => Float32Array;
  /** Replaces the start draw (the sampler scales it into the start latent). */
  xInit?: Float32Array;
  /** The network: x [Bm,C,H,W], r [Bm] → ε [Bm,C,H,W]. */
  model: (x: Tensor, r: Tensor) => Promise<Tensor>;
  /** Called after each step; tensors are valid only during the call (read them here if needed). */
  onStep?: (t: DeviceStepTensors) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Invariant: inside the loop the host uploads at most the step's noise, the coefficient vector and r, and reads
 * nothing back; the start latent and the first network input are uploaded once before it.
 * @returns the stage result [B,C,H,W]: the last x0 (official) or the final x.
 */
export async function sampleStageOnDevice(o: DeviceSampleOptions): Promise<Tensor> {
  const { engine, graphs, steps, shape } = o;
  const sampler = createStageSampler(o.sampler, steps, o.cfg);
  const { guided } = sampler;
  const rows = guided ? 2 * shape[0] : shape[0];
  const stepGraph = await graphs.step(sampler.stepGraph, guided);
  const start = sampler.startLatent(o.xInit ? Float32Array.from(o.xInit) : o.noise(shape));
  let x = engine.f32(start, shape);
  let xModel = engine.f32(modelInput(start, sampler.modelInputScale(0), guided), [rows, ...shape.slice(1)]);
  // Steps without a draw (and the x0_prev of step 0) get zeros, uploaded once.
  let zeros: Tensor | undefined;
  const zerosOnce = () => (zeros ??= engine.f32(new Float32Array(shapeNumel(shape)), shape));
  let x0: Tensor | undefined;
  for (let i = 0; i < steps; i++) {
    // Awaiting the engine never yields to the event loop on WASM: without this a cancel message waits in the
    // worker's queue until the generation ends.
    if (o.signal) await new Promise((resolve) => setTimeout(resolve, 0));
    o.signal?.throwIfAborted();
    const r = sampler.modelTime(i);
    const eps = await o.model(xModel, engine.f32(new Float32Array(rows).fill(r), [rows]));
    const drawn = sampler.drawsNoise(i) ? o.noise(shape) : undefined;
    const noise = drawn ? engine.f32(drawn, shape) : zerosOnce();
    const coef = sampler.stepCoefficients(i);
    const feeds: Record<string, Tensor> = { x, eps, noise, coef: engine.f32(coef, [coef.length]) };
    if (sampler.usesPreviousX0) feeds.x0_prev = x0 ?? zerosOnce();
    const out = await stepGraph.run(feeds);
    await o.onStep?.({ step: i, steps, r, eps, x0: out.x0, x: out.x_next, noise: drawn });
    engine.dispose(eps);
    if (drawn) engine.dispose(noise);
    engine.dispose(xModel);
    engine.dispose(x);
    if (x0) engine.dispose(x0);
    x = out.x_next;
    x0 = out.x0;
    xModel = out.x_model;
  }
  engine.dispose(xModel);
  if (zeros) engine.dispose(zeros);
  if (sampler.output === 'x0') {
    engine.dispose(x);
    return x0!;
  }
  if (x0) engine.dispose(x0);
  return x;
}

/** The network's x input from a host latent: scale·x, twice along the batch when guided. */
function modelInput(x: Float32Array, scale: number, guided: boolean): Float32Array {
  const scaled = scale === 1 ? x : x.map((v) => v * scale);
  if (!guided) return Float32Array.from(scaled);
  const pair = new Float32Array(2 * x.length);
  pair.set(scaled, 0);
  pair.set(scaled, x.length);
  return pair;
}
