/**
 * The generator worker: wires the protocol (src/client/protocol.ts) to the backend choice (src/engine), the
 * package reader and the text-to-image pipeline (src/pipeline). No generation logic lives here.
 *
 * Invariants:
 * - one ORT module for both backends (`onnxruntime-web/webgpu` runs the 'webgpu' and the 'wasm' EP);
 * - calls are serialized: a generate() waits for the previous call, so sessions are never run concurrently;
 * - GPU tensors never leave this worker; images leave as transferred ArrayBuffers;
 * - after a device loss every later generate() fails with DeviceLostError; load() may then build a WASM
 *   pipeline, but never a WebGPU one: onnxruntime-web keeps its GPUDevice for the life of the module, so only
 *   a new worker gets a new device (GeneratorRunner replaces the worker and retries once).
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
  type GeneratorWorkerFullApi,
  type InstalledModelInfo,
  type LoadResult,
  type Recommendation,
  type Residency,
  type WorkerEvent,
  type WorkerListener,
} from '../src/client/protocol.ts';
import { OrtEngine, type OrtModule } from '../src/engine/ort-engine.ts';
import { chooseBackend, maxBindingBytes, wasmThreadCount, watchDeviceLost, type AdapterReport, type BrowserBackend, type GpuDeviceLike } from '../src/engine/webgpu-adapter.ts';
import type { Precision } from '../src/models/model-context.ts';
import { fetchDescriptor } from '../src/store/catalogue.ts';
import type { ModelDescriptor } from '../src/store/descriptor.ts';
import { exportPackage } from '../src/store/export.ts';
import { stores, type InstallRecord, type InstalledModel } from '../src/store/idb.ts';
import { importFiles } from '../src/store/import.ts';
import { installModel } from '../src/store/install.ts';
import { collectGarbage, deleteModel, getModel, idbPackageReader, listModels, verifyModel } from '../src/store/package-store.ts';
import { SAFETY_MODEL_ID, storeModelBase, storeSafetyCheckerFetch } from '../src/store/safety-files.ts';
import { values } from 'idb-keyval';
import type { PipelineEvent } from '../src/pipeline/events.ts';
import { urlPackageReader, type PackageReader } from '../src/pipeline/package-reader.ts';
import { TextToImagePipeline } from '../src/pipeline/text-to-image.ts';
import { applySafetyChecker, lazySafetyChecker, type SharedOrt } from '../src/safety/safety-checker.ts';

registerErrorTransfer();

// Package files left by a crash halfway through a delete (package-store.ts: the record goes first, so such
// files are never listed). Once per worker start, before any install can begin writing; failures only log.
const garbageCollected = collectGarbage().catch((e: unknown) => {
  console.warn(`collectGarbage failed: ${e instanceof Error ? e.message : String(e)}`);
  return 0;
});

const GiB = 2 ** 30;
/** wasm32 linear memory cannot exceed 4 GiB; every WASM session's weights and activations share it. */
const WASM_HEAP_BYTES = 4 * GiB;

/**
 * Default precision of a converted package, first rule that applies:
 * 1. the descriptor sizes only one precision (a pre-converted package, or an author who tested just that) → it;
 * 2. the fp32 package is small (≤ 1 GiB: demos, test fixtures) → fp32: exact, and memory is not a concern;
 * 3. WebGPU with shader-f16 → fp16: half of fp32's bytes and native half math (SoteDiffusion v2: 10.8 GiB);
 * 4. WebGPU without shader-f16 → int8: fp16 packages cannot run there (onnxruntime-web/webgpu needs f16
 *    shaders), and fp32 (21.6 GiB) exceeds any realistic GPU budget; int8 weights are MatMulNBits blocks
 *    dequantized in the kernel, activations stay fp32;
 * 5. WASM → int8 when its package fits half the 4 GiB wasm32 heap, otherwise int4 (also MatMulNBits): with
 *    sequential residency the largest network (Stage C, ~60 % of the package) must fit next to its
 *    activations (src/engine/memory-plan.ts estimates) — SoteDiffusion v2 int8 is 6.2 GiB, int4 3.5 GiB.
 */
export function defaultPrecision(descriptor: ModelDescriptor | undefined, backend: BrowserBackend, adapter: AdapterReport | undefined): { precision: Precision; reason: string } {
  const sizes = descriptor?.sizes ?? {};
  const listed = Object.keys(sizes) as Precision[];
  if (listed.length === 1) return { precision: listed[0], reason: `the only precision this model lists` };
  if (descriptor && (sizes.fp32 ?? Number.POSITIVE_INFINITY) <= GiB) return { precision: 'fp32', reason: 'the model is small: full precision costs little' };
  if (backend === 'webgpu' && adapter?.shaderF16) return { precision: 'fp16', reason: 'the GPU supports shader-f16: half the size of fp32 at native speed' };
  if (backend === 'webgpu') return { precision: 'int8', reason: 'the GPU lacks shader-f16 (fp16 cannot run) and fp32 is too large: 8-bit weights, fp32 math' };
  const int8 = sizes.int8;
  if (int8 !== undefined && int8 <= WASM_HEAP_BYTES / 2) return { precision: 'int8', reason: 'CPU (WASM): 8-bit weights fit the 4 GiB wasm32 heap' };
  return { precision: 'int4', reason: 'CPU (WASM): the 4 GiB wasm32 heap needs 4-bit weights for this model' };
}

/**
 * Residency rule (documented in the UI): keep every network resident unless the package is larger than half
 * the memory budget, then 'sequential' (each network is released after its stage; Stage C's weights are gone
 * before Stage B loads). The budget is the wasm32 heap (4 GiB) on WASM; on WebGPU, which exposes no memory
 * size, it is navigator.deviceMemory (GiB; Chromium reports at most 8, default 4 when absent) — unified-memory
 * and integrated GPUs share it, and a discrete GPU with more VRAM merely reloads a few stages. Half, because
 * activations (memory-plan.ts: ±30 %), the browser and other tabs need the rest.
 */
export function defaultResidency(packageBytes: number, backend: BrowserBackend): { residency: Residency; reason: string } {
  const deviceMemory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  const budget = backend === 'wasm' ? WASM_HEAP_BYTES : (deviceMemory ?? 4) * GiB;
  const gib = (n: number) => `${(n / GiB).toFixed(2)} GiB`;
  return packageBytes > budget / 2
    ? { residency: 'sequential', reason: `the package (${gib(packageBytes)}) exceeds half the ${backend} memory budget (${gib(budget)}): each network is released after its stage` }
    : { residency: 'all', reason: `the package (${gib(packageBytes)}) fits half the ${backend} memory budget (${gib(budget)}): every network stays resident` };
}

function modelInfo(m: InstalledModel): InstalledModelInfo {
  return { id: m.id, descriptorId: m.descriptorId, name: m.name, precision: m.precision, bytes: m.bytes, installedAt: m.installedAt, defaults: m.descriptor.defaults, hasSafetyChecker: m.manifest.safetyChecker !== undefined };
}

/** The running install's abort switch (one install at a time: they compete for bandwidth and the CPU). */
let installing: AbortController | undefined;

interface Loaded {
  pipeline: TextToImagePipeline;
  backend: BrowserBackend;
  /** The model's safety checker, loaded on the first generation that enables it. */
  safety?: ReturnType<typeof lazySafetyChecker>;
}

let loaded: Loaded | undefined;
/** Set once the WebGPU device reports loss; cleared by the next load(). */
let deviceLost: string | undefined;
/** Set once the WebGPU device reports loss; never cleared (see the check in load()). */
let deadDevice: string | undefined;
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

/** The model the worker has loaded, by store id (deleteModel of it releases the pipeline first). */
let loadedModelId: string | undefined;
/** onnxruntime-web's GPUDevice once a WebGPU model is loaded (simulateDeviceLoss destroys it). */
let loadedDevice: GpuDeviceLike | undefined;
/** Store calls running (install, import, export, verify): a retired worker is terminated only at 0. */
let storeCalls = 0;

/** Counts a store call for storeBusy() while it runs. */
async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  storeCalls++;
  try {
    return await fn();
  } finally {
    storeCalls--;
  }
}

const api: GeneratorWorkerFullApi = {
  load: (request, onEvent) => serialized(async (): Promise<LoadResult> => {
    listener = onEvent;
    try {
      const started = performance.now();
      await releaseLoaded();
      loadedModelId = undefined;
      deviceLost = undefined;
      // Must precede the first WASM initialisation (later changes are ignored by onnxruntime-web).
      ort.env.wasm.numThreads = wasmThreadCount(self.crossOriginIsolated, navigator.hardwareConcurrency);
      const decision = await chooseBackend(request.backend ?? 'auto');
      if (decision.webgpuUnavailable) throw new WebGPUUnavailableError(decision.webgpuUnavailable);
      // onnxruntime-web keeps its GPUDevice for the life of this module: a dead one cannot be replaced here.
      if (decision.backend === 'webgpu' && deadDevice) throw new DeviceLostError(`${deadDevice} (this worker cannot get a new device: start a new worker)`);
      emit({ type: 'backend', backend: decision.backend, reason: decision.reason, adapter: decision.adapter });
      emit({ type: 'log', level: 'INFO', message: `backend ${decision.backend}: ${decision.reason}` });

      // Stage A tiles when one activation would exceed what a shader can bind. onnxruntime-web requests the
      // adapter's maximum for these limits, so the adapter's values are the device's.
      const bindingLimit = decision.adapter ? maxBindingBytes(decision.adapter) : undefined;

      let url: string;
      let reader: PackageReader;
      let residency: Residency;
      /** The installed model's own safety checker (manifest `safetyChecker`, stored under safety/). */
      let storedChecker: { modelId: string; source: string } | undefined;
      if (request.modelId !== undefined) {
        const installed = await getModel(request.modelId);
        url = `indexeddb:${request.modelId}`;
        if (!installed) throw new ModelLoadError(url, 'this model is not installed (install or import it first)');
        reader = idbPackageReader(request.modelId);
        const sc = installed.manifest.safetyChecker;
        if (sc) storedChecker = { modelId: request.modelId, source: `${sc.modelId}${sc.revision ? `@${sc.revision}` : ''}` };
        const rule = defaultResidency(installed.bytes, decision.backend);
        residency = request.residency ?? rule.residency;
        if (!request.residency) emit({ type: 'log', level: 'INFO', message: `residency ${rule.residency}: ${rule.reason}` });
      } else {
        url = new URL(request.modelUrl, self.location.href).href;
        reader = urlPackageReader(url);
        // The package size is known only after its manifest; URL packages (the demo) keep the old default.
        residency = request.residency ?? 'all';
      }
      emit({ type: 'model-loading', url });
      let pipeline: TextToImagePipeline;
      try {
        const engine = new OrtEngine(ort as unknown as OrtModule, decision.backend);
        pipeline = await TextToImagePipeline.load(engine, reader, {
          residency,
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
        loadedDevice = device;
        if (device?.lost) {
          watchDeviceLost(device, (reason) => {
            deviceLost = reason;
            deadDevice = reason;
            running?.abort(new DeviceLostError(reason));
          });
        } else {
          emit({ type: 'log', level: 'WARN', message: 'onnxruntime-web did not expose its GPUDevice: device loss will surface as a failed run' });
        }
      }
      const checker = request.safetyChecker;
      let safety: ReturnType<typeof lazySafetyChecker> | undefined;
      if (checker) {
        safety = lazySafetyChecker({
          ort: ort as unknown as SharedOrt,
          // An absolute base: transformers.js treats it as our own host (see safety-checker.ts).
          modelBase: new URL(checker.modelBase, self.location.href).href,
          modelId: checker.modelId,
          device: decision.backend,
        });
      } else if (storedChecker) {
        // Installed with the model: served from IndexedDB to transformers.js under a URL of our own origin
        // (src/store/safety-files.ts); loaded on the first generation that enables it, never otherwise.
        const { modelId, source } = storedChecker;
        safety = lazySafetyChecker({
          ort: ort as unknown as SharedOrt,
          modelBase: storeModelBase(self.location.origin, modelId),
          modelId: SAFETY_MODEL_ID,
          displayName: source,
          device: decision.backend,
          fetch: storeSafetyCheckerFetch(self.location.origin, modelId, (path, status, bytes) =>
            emit({ type: 'log', level: 'DEBUG', message: `safety checker (${source}): ${path} → ${status} from the model store (${bytes} B)` })),
        });
      }
      loaded = { pipeline, backend: decision.backend, ...(safety ? { safety } : {}) };
      loadedModelId = request.modelId;
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
        residency,
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

  // Not serialized: a lost device must also stop a generation that is running (as a real loss would).
  simulateDeviceLoss: async () => {
    const device = loadedDevice as (GpuDeviceLike & { destroy?: () => void }) | undefined;
    if (!loaded || loaded.backend !== 'webgpu' || !device?.destroy) return false;
    // watchDeviceLost ignores reason 'destroyed' (our own release); a simulated driver reset must not be ignored.
    deviceLost = deadDevice = 'simulated device loss (GPUDevice.destroy())';
    running?.abort(new DeviceLostError(deviceLost));
    device.destroy();
    return true;
  },

  install: (source, options = {}, onEvent) => storeCall(async () => {
    if (installing) throw new Error('another install is running: cancel it or wait for it to finish');
    const controller = new AbortController();
    installing = controller;
    try {
      await garbageCollected;
      const descriptor = 'kind' in source
        ? (source.kind === 'built-in' ? source.descriptor : await fetchDescriptor(source.url, source.hub))
        : source;
      let precision = options.precision;
      if (!precision) {
        const decision = await chooseBackend('auto');
        precision = defaultPrecision(descriptor, decision.backend, decision.adapter).precision;
      }
      const model = await installModel(descriptor, {
        precision,
        ...(options.token ? { token: options.token } : {}),
        signal: controller.signal,
        // Forwarded as-is; a listener on a page that went away must not fail the install.
        onEvent: (e) => { if (onEvent) Promise.resolve(onEvent(e)).catch(() => undefined); },
      });
      return modelInfo(model);
    } finally {
      if (installing === controller) installing = undefined;
    }
  }),

  // Not serialized with anything: it must reach the running install.
  cancelInstall: async () => {
    if (!installing) return false;
    installing.abort(new DOMException('install cancelled', 'AbortError'));
    return true;
  },

  listModels: async () => (await listModels()).map(modelInfo),

  listPendingInstalls: async () => {
    const records = await values<InstallRecord>(stores().installs);
    return records.map((r) => ({ modelId: r.modelId, name: r.descriptor.name, precision: r.precision, startedAt: r.startedAt, descriptor: r.descriptor }));
  },

  deleteModel: async (id) => {
    // Sessions were created from copies of the Blobs, but a loaded model must not outlive its listing.
    if (loadedModelId === id) await serialized(releaseLoaded);
    await deleteModel(id);
  },

  verifyModel: (id) => storeCall(async () => {
    const report = await verifyModel(id);
    return { files: report.files, bytes: report.bytes, problems: report.problems.map((p) => ({ file: p.file, expected: p.expected, actual: p.actual, message: p.message })) };
  }),

  importFiles: (files, options = {}) => storeCall(async () => {
    await garbageCollected;
    return modelInfo(await importFiles(files, options.precision ? { precision: options.precision } : {}));
  }),

  exportModel: (id) => storeCall(() => exportPackage(id)),

  storeBusy: async () => storeCalls > 0,

  recommend: async (descriptor) => {
    const decision = await chooseBackend('auto');
    const p = defaultPrecision(descriptor, decision.backend, decision.adapter);
    const bytes = descriptor?.sizes[p.precision] ?? 0;
    const r = defaultResidency(bytes, decision.backend);
    const probe = decision.backend === 'wasm' ? decision.reason : undefined;
    return {
      backend: decision.backend,
      ...(decision.adapter ? { adapter: decision.adapter } : {}),
      ...(probe ? { webgpuUnavailable: probe } : {}),
      precision: p.precision,
      precisionReason: p.reason,
      residency: r.residency,
      residencyReason: r.reason,
    } satisfies Recommendation;
  },
};

Comlink.expose(api);
