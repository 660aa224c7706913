/**
 * The generator worker: wires the protocol (src/client/protocol.ts) to the backend choice (src/engine), the
 * package reader and the text-to-image pipeline (src/pipeline). No generation logic lives here.
 *
 * Invariants:
 * - one ORT module for both backends (`onnxruntime-web/webgpu` runs the 'webgpu' and the 'wasm' EP);
 * - calls are serialized: a generate() waits for the previous call, so sessions are never run concurrently;
 * - GPU tensors never leave this worker; images leave as transferred ArrayBuffers;
 * - after a device loss every later call fails with DeviceLostError until load() builds a new pipeline.
 */
import * as Comlink from 'comlink';
import * as ort from 'onnxruntime-web/webgpu';
import {
  DeviceLostError,
  GenerationCancelledError,
  ModelLoadError,
  ModelNotLoadedError,
  registerErrorTransfer,
  SafetyCheckerUnavailableError,
  WebGPUUnavailableError,
  type GenerateResult,
  type GeneratorWorkerApi,
  type LoadResult,
  type WorkerEvent,
  type WorkerListener,
} from '../src/client/protocol.ts';
import { OrtEngine, type OrtModule } from '../src/engine/ort-engine.ts';
import { chooseBackend, maxBindingBytes, wasmThreadCount, watchDeviceLost, type BrowserBackend, type GpuDeviceLike } from '../src/engine/webgpu-adapter.ts';
import type { PipelineEvent } from '../src/pipeline/events.ts';
import { urlPackageReader } from '../src/pipeline/package-reader.ts';
import { TextToImagePipeline } from '../src/pipeline/text-to-image.ts';
import { applySafetyChecker, lazySafetyChecker, type SharedOrt } from '../src/safety/safety-checker.ts';

registerErrorTransfer();

interface Loaded {
  pipeline: TextToImagePipeline;
  backend: BrowserBackend;
  /** The model's safety checker, loaded on the first generation that enables it. */
  safety?: ReturnType<typeof lazySafetyChecker>;
}

let loaded: Loaded | undefined;
/** Set once the WebGPU device reports loss; cleared by the next load(). */
let deviceLost: string | undefined;
let running: AbortController | undefined;
/** Where pipeline events go right now (the listener of the call in progress). */
let listener: WorkerListener | undefined;
/** Tail of the call queue (see the serialization invariant). */
let queue: Promise<unknown> = Promise.resolve();

function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

/** Forwards an event; a listener on a page that went away must not fail the call. */
function emit(event: WorkerEvent): void {
  if (listener) Promise.resolve(listener(event)).catch(() => undefined);
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function releaseLoaded(): Promise<void> {
  const current = loaded;
  loaded = undefined;
  await current?.pipeline.release();
}

const api: GeneratorWorkerApi = {
  load: (request, onEvent) => serialized(async (): Promise<LoadResult> => {
    listener = onEvent;
    try {
      const started = performance.now();
      await releaseLoaded();
      deviceLost = undefined;
      // Must precede the first WASM initialisation (later changes are ignored by onnxruntime-web).
      ort.env.wasm.numThreads = wasmThreadCount(self.crossOriginIsolated, navigator.hardwareConcurrency);
      const decision = await chooseBackend(request.backend ?? 'auto');
      if (decision.webgpuUnavailable) throw new WebGPUUnavailableError(decision.webgpuUnavailable);
      emit({ type: 'backend', backend: decision.backend, reason: decision.reason, adapter: decision.adapter });
      emit({ type: 'log', level: 'INFO', message: `backend ${decision.backend}: ${decision.reason}` });

      // Stage A tiles when one activation would exceed what a shader can bind. onnxruntime-web requests the
      // adapter's maximum for these limits, so the adapter's values are the device's.
      const bindingLimit = decision.adapter ? maxBindingBytes(decision.adapter) : undefined;

      const url = new URL(request.modelUrl, self.location.href).href;
      emit({ type: 'model-loading', url });
      let pipeline: TextToImagePipeline;
      try {
        const engine = new OrtEngine(ort as unknown as OrtModule, decision.backend);
        pipeline = await TextToImagePipeline.load(engine, urlPackageReader(url), {
          residency: request.residency,
          onEvent: (e: PipelineEvent) => emit(e),
          stageATiling: { tileSize: request.stageATileSize, maxBindingBytes: bindingLimit },
        });
      } catch (e) {
        if (deviceLost) throw new DeviceLostError(deviceLost);
        throw new ModelLoadError(url, describe(e), { cause: e });
      }
      if (decision.backend === 'webgpu') {
        // The device exists once a session does (the native WebGPU EP creates it lazily); its loss invalidates
        // every session and GPU tensor.
        const device = (await Promise.resolve(ort.env.webgpu.device).catch(() => undefined)) as GpuDeviceLike | undefined;
        if (device?.lost) {
          watchDeviceLost(device, (reason) => {
            deviceLost = reason;
            running?.abort(new DeviceLostError(reason));
          });
        } else {
          emit({ type: 'log', level: 'WARN', message: 'onnxruntime-web did not expose its GPUDevice: device loss will surface as a failed run' });
        }
      }
      const checker = request.safetyChecker;
      const safety = checker && lazySafetyChecker({
        ort: ort as unknown as SharedOrt,
        // An absolute base: transformers.js treats it as our own host (see safety-checker.ts).
        modelBase: new URL(checker.modelBase, self.location.href).href,
        modelId: checker.modelId,
        device: decision.backend,
      });
      loaded = { pipeline, backend: decision.backend, ...(safety ? { safety } : {}) };
      const ms = performance.now() - started;
      emit({ type: 'model-loaded', url, ms });
      const m = pipeline.manifest;
      return {
        backend: decision.backend,
        reason: decision.reason,
        adapter: decision.adapter,
        wasmThreads: ort.env.wasm.numThreads ?? 1,
        crossOriginIsolated: self.crossOriginIsolated,
        model: { name: m.name, precision: m.precision, totalBytes: m.totalBytes },
        ms,
      };
    } finally {
      listener = undefined;
    }
  }),

  generate: (request, onEvent) => serialized(async (): Promise<GenerateResult> => {
    if (deviceLost) throw new DeviceLostError(deviceLost);
    if (!loaded) throw new ModelNotLoadedError();
    const controller = new AbortController();
    running = controller;
    listener = onEvent;
    try {
      const { enableSafetyChecker = false, ...pipelineRequest } = request;
      const result = await loaded.pipeline.generate(pipelineRequest, { signal: controller.signal });
      const safety = loaded.safety;
      if (enableSafetyChecker && !safety) throw new SafetyCheckerUnavailableError('this model was loaded without one');
      const checked = await applySafetyChecker(result.images, enableSafetyChecker, () => safety!.get(), emit).catch((e: unknown) => {
        throw e instanceof SafetyCheckerUnavailableError ? e : new SafetyCheckerUnavailableError(describe(e));
      });
      const out: GenerateResult = {
        ...result,
        images: checked.images,
        timings: { ...result.timings, ...checked.timings },
        hasNsfwConcepts: checked.has_nsfw_concepts,
        backend: loaded.backend,
      };
      return Comlink.transfer(out, checked.images.map((img) => img.rgb.buffer as ArrayBuffer));
    } catch (e) {
      if (deviceLost) throw new DeviceLostError(deviceLost);
      if (controller.signal.aborted) throw new GenerationCancelledError();
      throw e;
    } finally {
      running = undefined;
      listener = undefined;
    }
  }),

  // Not serialized: it must reach a generation that is running.
  cancel: async () => {
    if (!running) return false;
    running.abort(new GenerationCancelledError());
    return true;
  },

  release: () => serialized(releaseLoaded),
};

Comlink.expose(api);
