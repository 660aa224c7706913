/**
 * The generator worker: wires the protocol (src/client/protocol.ts) to the backend choice and placement rules
 * (src/engine), the model store (src/store, and ./model-store-api.ts for the store calls), the text-to-image
 * pipeline (src/pipeline) and the safety checker (src/safety). No policy lives here: each rule is in the module
 * named at its call, with its unit tests.
 *
 * Invariants:
 * - one ORT module for both backends (the JSPI or asyncify build, src/engine/ort-web-loader.ts, runs the 'webgpu'
 *   and the 'wasm' EP);
 * - calls are serialized: a generate() waits for the previous call, so sessions are never run concurrently;
 * - GPU tensors never leave this worker; images leave as transferred ArrayBuffers;
 * - after a device loss every later generate() fails with DeviceLostError; load() may then build a WASM
 *   pipeline, but never a WebGPU one (src/engine/device-loss.ts).
 */
import * as Comlink from 'comlink';
import {
  DeviceLostError, GenerationCancelledError, ModelLoadError, ModelNotLoadedError, registerErrorTransfer, SafetyCheckerUnavailableError,
  WebGPUUnavailableError, type GenerateResult, type GeneratorWorkerApi, type GeneratorWorkerFullApi, type WorkerEvent,
} from '../src/client/protocol.ts';
import { DeviceLossState } from '../src/engine/device-loss.ts';
import { OrtEngine, type OrtModule } from '../src/engine/ort-engine.ts';
import { loadOrtWeb } from '../src/engine/ort-web-loader.ts';
import { deviceMemoryGiB, loadResidency } from '../src/engine/placement.ts';
import { SerialCalls } from '../src/engine/serial-calls.ts';
import { chooseBackend, maxBindingBytes, wasmThreadCount, type BrowserBackend, type GpuDeviceLike } from '../src/engine/webgpu-adapter.ts';
import { TextToImagePipeline } from '../src/pipeline/text-to-image.ts';
import { chooseSafetyChecker } from '../src/safety/checker-choice.ts';
import { applySafetyChecker, lazySafetyChecker, type SharedOrt } from '../src/safety/safety-checker.ts';
import { openModel, packageUrl } from '../src/store/open-model.ts';
import { modelStoreApi } from './model-store-api.ts';

registerErrorTransfer();

/** The loaded model: what generate() uses, released as one. */
interface Loaded {
  pipeline: TextToImagePipeline;
  backend: BrowserBackend;
  /** Store id, undefined for a URL package (deleteModel of it releases the pipeline first). */
  modelId?: string;
  /** onnxruntime-web's GPUDevice on WebGPU (simulateDeviceLoss destroys it). */
  device?: GpuDeviceLike & { destroy?: () => void };
  /** The model's safety checker, loaded on the first generation that enables it. */
  safety?: ReturnType<typeof lazySafetyChecker>;
}

let loaded: Loaded | undefined;
/** The running generation (cancel() and a device loss abort it). */
let running: AbortController | undefined;
const deviceLoss = new DeviceLossState((reason) => running?.abort(new DeviceLostError(reason)));
/** load, generate and release run one at a time (see the serialization invariant). */
const calls = new SerialCalls<WorkerEvent>();
const emit = (event: WorkerEvent) => calls.emit(event);
const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function releaseLoaded(): Promise<void> {
  const current = loaded;
  loaded = undefined;
  await current?.pipeline.release();
}

const generation: GeneratorWorkerApi = {
  load: (request, onEvent) => calls.run(async () => {
    const started = performance.now();
    await releaseLoaded();
    deviceLoss.beginLoad();
    // One onnxruntime-web build per worker (src/engine/ort-web-loader.ts): JSPI where the browser has it.
    const { ort, build: ortBuild, reason: ortBuildReason } = await loadOrtWeb(request.ortBuild ?? 'auto');
    // Must precede the first WASM initialisation (later changes are ignored by onnxruntime-web).
    ort.env.wasm.numThreads = wasmThreadCount(self.crossOriginIsolated, navigator.hardwareConcurrency);
    const decision = await chooseBackend(request.backend ?? 'auto');
    if (decision.webgpuUnavailable) throw new WebGPUUnavailableError(decision.webgpuUnavailable);
    const refused = deviceLoss.refusesLoad(decision.backend);
    if (refused) throw new DeviceLostError(refused);
    emit({ type: 'backend', backend: decision.backend, reason: decision.reason, adapter: decision.adapter });
    emit({ type: 'log', level: 'INFO', message: `backend ${decision.backend}: ${decision.reason}` });
    emit({ type: 'log', level: 'INFO', message: `onnxruntime-web ${ortBuild} build: ${ortBuildReason}` });

    const url = packageUrl(request, self.location.href);
    const opened = await openModel(request, self.location.href, (message) => emit({ type: 'log', level: 'DEBUG', message }));
    if (!opened) throw new ModelLoadError(url, 'this model is not installed (install or import it first)');
    const { residency, reason } = loadResidency(request.residency, opened.packageBytes, decision.backend, deviceMemoryGiB());
    if (reason) emit({ type: 'log', level: 'INFO', message: `residency ${residency}: ${reason}` });
    emit({ type: 'model-loading', url });
    // Graph capture replays the step networks' kernels from one recording (src/engine/graph-capture.ts); a graph
    // onnxruntime refuses runs uncaptured, with the reason in the log.
    const engine = new OrtEngine(ort as unknown as OrtModule, decision.backend, {
      graphCapture: request.graphCapture ?? true,
      log: (message, level = 'INFO') => emit({ type: 'log', level, message }),
    });
    const pipeline = await TextToImagePipeline.load(engine, opened.reader, {
      residency,
      onEvent: emit,
      // Stage A tiles when one activation would exceed what a shader can bind. onnxruntime-web requests the
      // adapter's maximum for these limits, so the adapter's values are the device's.
      stageATiling: { tileSize: request.stageATileSize, maxBindingBytes: decision.adapter ? maxBindingBytes(decision.adapter) : undefined },
    }).catch((e: unknown) => {
      throw deviceLoss.lost ? new DeviceLostError(deviceLoss.lost) : new ModelLoadError(url, describe(e), { cause: e });
    });
    let device: Loaded['device'];
    if (decision.backend === 'webgpu') {
      // The device exists once a session does (the native WebGPU EP creates it lazily); its loss invalidates
      // every session and GPU tensor.
      device = (await Promise.resolve(ort.env.webgpu.device).catch(() => undefined)) as Loaded['device'];
      if (device?.lost) deviceLoss.watch(device);
      else emit({ type: 'log', level: 'WARN', message: 'onnxruntime-web did not expose its GPUDevice: device loss will surface as a failed run' });
    }
    const checker = chooseSafetyChecker(request.safetyChecker, opened.checker, self.location.href, decision.backend);
    const safety = checker && lazySafetyChecker({ ort: ort as unknown as SharedOrt, ...checker });
    loaded = { pipeline, backend: decision.backend, modelId: request.modelId, device, safety };
    const ms = performance.now() - started;
    emit({ type: 'model-loaded', url, ms });
    const m = pipeline.manifest;
    return {
      backend: decision.backend, reason: decision.reason, adapter: decision.adapter, ortBuild, wasmThreads: ort.env.wasm.numThreads ?? 1,
      crossOriginIsolated: self.crossOriginIsolated, model: { name: m.name, precision: m.precision, totalBytes: m.totalBytes }, residency, ms,
    };
  }, onEvent),

  generate: (request, onEvent) => calls.run(async () => {
    if (deviceLoss.lost) throw new DeviceLostError(deviceLoss.lost);
    const current = loaded;
    if (!current) throw new ModelNotLoadedError();
    const controller = new AbortController();
    running = controller;
    try {
      const { enableSafetyChecker = false, ...pipelineRequest } = request;
      const result = await current.pipeline.generate(pipelineRequest, { signal: controller.signal });
      const safety = current.safety;
      if (enableSafetyChecker && !safety) throw new SafetyCheckerUnavailableError('this model was loaded without one');
      const checked = await applySafetyChecker(result.images, enableSafetyChecker, () => safety!.get(), emit).catch((e: unknown) => {
        throw e instanceof SafetyCheckerUnavailableError ? e : new SafetyCheckerUnavailableError(describe(e));
      });
      const out: GenerateResult = {
        ...result, images: checked.images, timings: { ...result.timings, ...checked.timings }, hasNsfwConcepts: checked.has_nsfw_concepts, backend: current.backend,
      };
      return Comlink.transfer(out, checked.images.map((img) => img.rgb.buffer as ArrayBuffer));
    } catch (e) {
      if (deviceLoss.lost) throw new DeviceLostError(deviceLoss.lost);
      if (controller.signal.aborted) throw new GenerationCancelledError();
      throw e;
    } finally {
      running = undefined;
    }
  }, onEvent),

  checkModel: (onEvent) => calls.run(async () => {
    if (deviceLoss.lost) throw new DeviceLostError(deviceLoss.lost);
    if (!loaded) throw new ModelNotLoadedError();
    return loaded.pipeline.check().catch((e: unknown) => {
      throw deviceLoss.lost ? new DeviceLostError(deviceLoss.lost) : e;
    });
  }, onEvent),

  // Not serialized: it must reach a generation that is running.
  cancel: async () => {
    running?.abort(new GenerationCancelledError());
    return running !== undefined;
  },

  release: () => calls.run(releaseLoaded),

  // Not serialized: a lost device must also stop a generation that is running (as a real loss would).
  simulateDeviceLoss: async () => {
    const device = loaded?.backend === 'webgpu' ? loaded.device : undefined;
    if (!device?.destroy) return false;
    // watchDeviceLost ignores reason 'destroyed' (our own release); a simulated driver reset must not be ignored.
    deviceLoss.lose('simulated device loss (GPUDevice.destroy())');
    device.destroy();
    return true;
  },
};

const api: GeneratorWorkerFullApi = {
  ...generation,
  ...modelStoreApi(async (id) => {
    if (loaded?.modelId === id) await calls.run(releaseLoaded);
  }),
};

Comlink.expose(api);
