/**
 * The one typed protocol between the page and the generator worker (workers/generator.worker.ts), carried by
 * Comlink: the worker exposes a `GeneratorWorkerApi`, the page holds a `Comlink.Remote<GeneratorWorkerApi>`
 * from `connectGenerator(worker)`.
 *
 * Boundary rules (docs/browser-anchors §4):
 * - everything GPU-resident stays in the worker; only requests, events and final image bytes cross;
 * - image bytes are transferred (the worker's buffers are detached), not copied;
 * - callbacks cross as `Comlink.proxy(fn)` (connectGenerator's helpers wrap them) and carry coarse events only
 *   (per session, stage and step), never per-tile or per-kernel;
 * - failures are the named errors of ./errors.ts and keep their class across the boundary once
 *   `registerErrorTransfer()` ran on both sides (connectGenerator and the worker call it).
 */
import * as Comlink from 'comlink';
import type { AdapterReport, BackendPreference, BrowserBackend } from '../engine/webgpu-adapter.ts';
import type { PipelineEvent } from '../pipeline/events.ts';
import type { GenerationRequest, GenerationResult } from '../pipeline/text-to-image.ts';
import { registerErrorTransfer } from './errors.ts';
import type { SafetyEvent } from '../safety/safety-checker.ts';

export type { SafetyEvent } from '../safety/safety-checker.ts';

export type { AdapterReport, BackendPreference, BrowserBackend } from '../engine/webgpu-adapter.ts';
export type { GenerationStage, PipelineEvent } from '../pipeline/events.ts';
export type { GeneratedImage, GenerationRequest } from '../pipeline/text-to-image.ts';
export * from './errors.ts';

export interface LoadRequest {
  /** Base URL of a model package (the folder holding manifest.json), e.g. '/models/tiny-demo/'. */
  modelUrl: string;
  /** @default 'auto' (WebGPU when an adapter exists, otherwise WASM) */
  backend?: BackendPreference;
  /** @default 'all' — see PipelineOptions.residency */
  residency?: 'all' | 'sequential';
  /**
   * Force a tiled Stage A decode with cores of at most this many latent pixels per side (tests, debugging).
   * Without it the worker tiles only when the device's buffer limit requires it.
   */
  stageATileSize?: number;
  /**
   * The safety checker that belongs to this model: a transformers.js image-classification folder
   * (config.json, preprocessor_config.json, onnx/model.onnx) at `${modelBase}${modelId}/`. Loaded on the first
   * generation that enables it, never otherwise.
   */
  safetyChecker?: { modelBase: string; modelId: string };
}

export interface LoadResult {
  backend: BrowserBackend;
  /** Why this backend (the same text as the 'backend' event). */
  reason: string;
  adapter?: AdapterReport;
  /** onnxruntime-web WASM threads (also used by WebGPU sessions for CPU-side kernels). */
  wasmThreads: number;
  crossOriginIsolated: boolean;
  model: { name: string; precision: string; totalBytes: number };
  /** Milliseconds from load() to a ready pipeline (sessions created). */
  ms: number;
}

/** A generation request as the worker takes it: the pipeline's request plus the safety checker switch. */
export interface WorkerGenerateRequest extends GenerationRequest {
  /**
   * Run the model's safety checker on every image. Default false here — the queue API and the page apply the
   * hosted default (true) and pass it explicitly.
   */
  enableSafetyChecker?: boolean;
}

export interface GenerateResult extends Omit<GenerationResult, 'timings'> {
  backend: BrowserBackend;
  /** Seconds per stage, plus safety_checker when it ran. */
  timings: GenerationResult['timings'] & { safety_checker?: number };
  /** One entry per image: flagged by the safety checker (then the image is all black). All false when disabled. */
  hasNsfwConcepts: boolean[];
}

/** Events only the worker knows about; everything the pipeline reports passes through unchanged. */
export type WorkerOnlyEvent =
  | { type: 'backend'; backend: BrowserBackend; reason: string; adapter?: AdapterReport }
  | { type: 'model-loading'; url: string }
  | { type: 'model-loaded'; url: string; ms: number };

export type WorkerEvent = PipelineEvent | WorkerOnlyEvent | SafetyEvent;
export type WorkerListener = (event: WorkerEvent) => void;

/**
 * What the worker exposes. One model is loaded at a time and one generation runs at a time (onnxruntime
 * sessions are not re-entrant, and the device-resident pipeline owns its buffers).
 */
export interface GeneratorWorkerApi {
  /** Chooses the backend, loads the package and creates every session; replaces a previously loaded model. */
  load(request: LoadRequest, onEvent?: WorkerListener): Promise<LoadResult>;
  /** Runs one generation; image bytes arrive transferred. Rejects with GenerationCancelledError after cancel(). */
  generate(request: WorkerGenerateRequest, onEvent?: WorkerListener): Promise<GenerateResult>;
  /** Cancels the running generation, if any (it stops at the next network call); true when one was running. */
  cancel(): Promise<boolean>;
  /** Frees every session and GPU buffer; load() again to use the worker. */
  release(): Promise<void>;
}

export type GeneratorClient = Comlink.Remote<GeneratorWorkerApi>;

/**
 * Wraps a module Worker running workers/generator.worker.ts. Callbacks passed to the returned API must be
 * wrapped with Comlink.proxy; `withEvents` does that.
 */
export function connectGenerator(worker: Worker): GeneratorClient {
  registerErrorTransfer();
  return Comlink.wrap<GeneratorWorkerApi>(worker);
}

/** A listener ready to cross the boundary. */
export function withEvents(listener: WorkerListener): WorkerListener & Comlink.ProxyMarked {
  return Comlink.proxy(listener);
}
