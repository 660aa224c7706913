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
import type { Recommendation, Residency } from '../engine/placement.ts';
import type { OrtWebBuild, OrtWebBuildPreference } from '../engine/ort-web-loader.ts';
import type { PipelineEvent } from '../pipeline/events.ts';
import type { GenerationRequest, GenerationResult } from '../pipeline/text-to-image.ts';
import type { ModelCheckResult } from '../pipeline/model-check.ts';
import { registerErrorTransfer } from './errors.ts';
import type { SafetyEvent } from '../safety/safety-checker.ts';
import type { Precision } from '../models/model-context.ts';
import type { ModelChoice } from '../store/catalogue.ts';
import type { ModelDescriptor, SamplingDefaults } from '../store/descriptor.ts';
import type { InstallEvent, InstallListener } from '../store/progress.ts';

export type { SafetyEvent } from '../safety/safety-checker.ts';

export type { AdapterReport, BackendPreference, BrowserBackend } from '../engine/webgpu-adapter.ts';
/** Residency: see PipelineOptions.residency; Recommendation: the worker's defaults for a model on this device. */
export type { Recommendation, Residency } from '../engine/placement.ts';
export type { GenerationStage, PipelineEvent } from '../pipeline/events.ts';
export type { GeneratedImage, GenerationRequest } from '../pipeline/text-to-image.ts';
export type { ModelCheckDecode, ModelCheckResult, ModelCheckSession } from '../pipeline/model-check.ts';
// A value export: importing it registers the class, so it keeps `instanceof` across Comlink on the page too.
export { ModelCheckError } from '../pipeline/model-check.ts';
export * from './errors.ts';
export type { Precision } from '../models/model-context.ts';
export type { ModelChoice } from '../store/catalogue.ts';
export type { ModelDescriptor, SamplingDefaults } from '../store/descriptor.ts';
export type { ByteProgress, InstallEvent, InstallListener } from '../store/progress.ts';

/**
 * What to load: exactly one of a package URL or an installed model's store id (both at once is a type error,
 * so the worker never has to guess which one wins).
 */
export type LoadRequest = LoadOptions & (
  | {
    /** Base URL of a model package (the folder holding manifest.json), e.g. '/models/tiny-demo/'. */
    modelUrl: string;
    modelId?: undefined;
  }
  | {
    /** Store id of an installed model (`listModels()`), read from IndexedDB without copying its Blobs. */
    modelId: string;
    modelUrl?: undefined;
  });

export interface LoadOptions {
  /** @default 'auto' (WebGPU when an adapter exists, otherwise WASM) */
  backend?: BackendPreference;
  /**
   * @default the worker's rule (`recommend()`): 'sequential' when the package is large for the device's memory
   * budget, else 'all' — see PipelineOptions.residency
   */
  residency?: Residency;
  /**
   * Force a tiled Stage A decode with cores of at most this many latent pixels per side (tests, debugging).
   * Without it the worker tiles only when the device's buffer limit requires it.
   */
  stageATileSize?: number;
  /**
   * onnxruntime-web build: 'auto' (default) takes JSPI where the browser has `WebAssembly.Suspending`, else
   * asyncify. A worker runs one build for its life; asking it for the other fails (tests use a new worker).
   */
  ortBuild?: OrtWebBuildPreference;
  /**
   * WebGPU graph capture of the Stage C / Stage B step networks (one recorded command stream replayed per step;
   * byte-identical images, e2e/webgpu-graph-capture). Ignored on WASM.
   * @default true
   */
  graphCapture?: boolean;
  /**
   * The safety checker that belongs to this model: a transformers.js image-classification folder
   * (config.json, preprocessor_config.json, onnx/model.onnx and its external data files) at
   * `${modelBase}${modelId}/`. Loaded on the first
   * generation that enables it, never otherwise. Without it, an installed model (`modelId`) whose manifest has
   * a `safetyChecker` uses that one, served from IndexedDB (src/store/safety-files.ts).
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
  /** Which onnxruntime-web build runs the sessions (src/engine/ort-web-loader.ts); optional for older fakes. */
  ortBuild?: OrtWebBuild;
  model: { name: string; precision: string; totalBytes: number };
  /** The residency used (requested, or the worker's rule). Optional only so older fakes still type-check. */
  residency?: Residency;
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
  /**
   * "Test on this device" on the loaded model (TextToImagePipeline.check): creates every network's session and
   * decodes a fixed test latent through Stage A. Serialized like generate(); ModelNotLoadedError without a model,
   * ModelCheckError when a step fails (the model stays usable).
   */
  checkModel(onEvent?: WorkerListener): Promise<ModelCheckResult>;
  /** Cancels the running generation, if any (it stops at the next network call); true when one was running. */
  cancel(): Promise<boolean>;
  /** Frees every session and GPU buffer; load() again to use the worker. */
  release(): Promise<void>;
  /**
   * Diagnostics: destroys the WebGPU device the loaded model runs on, as a driver reset would, and marks it
   * lost (the next call fails with DeviceLostError). False when no WebGPU model is loaded. Tests use it to prove
   * the rebuild-and-retry path (GeneratorRunner) against a really dead device.
   */
  simulateDeviceLoss(): Promise<boolean>;
}

/** The full worker surface: generation plus the model store. */
export type GeneratorWorkerFullApi = GeneratorWorkerApi & ModelStoreApi;

/** An installed model as the page lists it (the store record minus its manifest). */
export interface InstalledModelInfo {
  id: string;
  descriptorId: string;
  name: string;
  precision: Precision;
  /** Bytes of the converted package in IndexedDB. */
  bytes: number;
  installedAt: number;
  defaults: SamplingDefaults;
  /**
   * The package holds its safety checker (installed from a hub with one). False for checkpoints imported from
   * disk and packages installed before checkers were: generate with enable_safety_checker false, or reinstall.
   */
  hasSafetyChecker: boolean;
}

/** An install that started and did not finish (cancelled, failed resumably, tab closed): `install` resumes it. */
export interface PendingInstall {
  modelId: string;
  name: string;
  precision: Precision;
  startedAt: number;
  /** Pass back to install() to resume (finished slices and converted components are kept). */
  descriptor: ModelDescriptor;
}

/** One stored file that failed re-verification (an IntegrityError flattened: Error objects lose fields in a clone). */
export interface VerifyProblem {
  file: string;
  expected: string;
  actual: string;
  message: string;
}

export interface VerifyResult {
  files: number;
  bytes: number;
  problems: VerifyProblem[];
}

export interface InstallRequestOptions {
  /** @default the worker's rule (`recommend(descriptor).precision`) */
  precision?: Precision;
  /** Hub access token; installModel sends it only to the descriptor's hub origin. */
  token?: string;
}

/** What install() takes: a parsed descriptor, or the page's URL choice (a descriptor URL is fetched in the worker). */
export type InstallSource = ModelDescriptor | ModelChoice;

/**
 * Model store calls (src/store run inside the worker: downloads, hashing and conversion are heavy and must
 * not block the page). They are not serialized with generation: they touch only IndexedDB records under their
 * own model id, except deleteModel of the loaded model, which releases it first.
 */
export interface ModelStoreApi {
  /** Installs (or resumes) a model; events are the store's InstallEvent values, forwarded unchanged. One at a time. */
  install(source: InstallSource, options?: InstallRequestOptions, onEvent?: InstallListener): Promise<InstalledModelInfo>;
  /** Aborts the running install (kept resumable); true when one was running. */
  cancelInstall(): Promise<boolean>;
  listModels(): Promise<InstalledModelInfo[]>;
  listPendingInstalls(): Promise<PendingInstall[]>;
  /** Unlists the model and frees its files (and an unfinished install of that id). */
  deleteModel(id: string): Promise<void>;
  verifyModel(id: string): Promise<VerifyResult>;
  /** Exported .tar, unpacked files, or .safetensors + tokenizer files (converted at `precision`). */
  importFiles(files: File[], options?: { precision?: Precision }): Promise<InstalledModelInfo>;
  /** The package as one tar Blob (made of the stored Blob parts). */
  exportModel(id: string): Promise<Blob>;
  /** Default precision / residency / backend for this descriptor on this device. */
  recommend(descriptor?: ModelDescriptor): Promise<Recommendation>;
  /** True while an install, import, export or re-verify runs in this worker (a retired worker waits for them). */
  storeBusy(): Promise<boolean>;
}

export type GeneratorClient = Comlink.Remote<GeneratorWorkerFullApi>;

/**
 * Wraps a module Worker running workers/generator.worker.ts. Callbacks passed to the returned API must be
 * wrapped with Comlink.proxy; `withEvents` does that.
 */
export function connectGenerator(worker: Worker): GeneratorClient {
  registerErrorTransfer();
  return Comlink.wrap<GeneratorWorkerFullApi>(worker);
}

/** An install listener ready to cross the boundary. */
export function withInstallEvents(listener: (event: InstallEvent) => void): InstallListener & Comlink.ProxyMarked {
  return Comlink.proxy(listener);
}

/** A listener ready to cross the boundary. */
export function withEvents(listener: WorkerListener): WorkerListener & Comlink.ProxyMarked {
  return Comlink.proxy(listener);
}
