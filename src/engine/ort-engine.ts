/**
 * One engine over any onnxruntime build (onnxruntime-node, onnxruntime-web WASM or WebGPU): sessions, tensors
 * and read-backs. The pipeline only talks to this, so the same generation code runs in the CLI, in tests and in
 * the browser worker.
 *
 * Invariant (WebGPU): session outputs stay on the GPU ('gpu-buffer') and are fed straight into the next session;
 * the only way back to the CPU is `read()`, which counts, so a generation can prove it reads back just the
 * final image (plus optional previews).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { EngineSession } from './engine-session.ts';
import type { HostTensor } from './tensor.ts';
export type { EngineSession } from './engine-session.ts';
import { openCapturedSession, plainSession, type CaptureGpuBuffer, type CaptureGpuDevice, type GpuTensorOptions } from './graph-capture.ts';
import { StoredReadStalledError, watchBlob, type BlobReadWatch } from './watched-blob.ts';

export type Backend = 'node' | 'wasm' | 'webgpu';

/** The parts of an onnxruntime module we use (onnxruntime-node and onnxruntime-web both provide them). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array | string, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: Tensor.Type, data: Tensor.DataType, dims?: readonly number[]) => Tensor;
}

/** Graph bytes (or URL) plus external-data files (bytes, Blob or URL), as in a model package. */
export interface SessionSource {
  model: Uint8Array | string;
  externalData: { path: string; data: Uint8Array | Blob | string }[];
}

export interface EngineOptions {
  /**
   * WebGPU graph capture for the sessions the pipeline marks as per-step (graph-capture.ts); ignored on other
   * backends. A graph onnxruntime will not capture runs uncaptured, with the reason passed to `log`.
   */
  graphCapture?: boolean;
  /** Where the engine reports such decisions, and recovered faults as 'WARN' (default console.warn). */
  log?: (message: string, level?: 'INFO' | 'WARN') => void;
  /**
   * Deadline and reopenings for reads of external-data Blobs (watched-blob.ts); default 60 s and 3. A read that
   * delivers nothing for `stallMs` is reopened; one that keeps stalling fails the session instead of hanging it.
   */
  blobReads?: Pick<BlobReadWatch, 'stallMs' | 'reopenLimit'>;
}

export interface SessionRequest {
  /**
   * Run many times with the same shapes (a step network): captured when the engine's graphCapture is on. Only for
   * graphs whose outputs feed no other node (graph-capture.ts lists what onnxruntime-web 1.30 replays wrongly).
   */
  perStep?: boolean;
  /** Names the session in log lines. */
  label?: string;
  /** Called with the byte count of each piece of external data read from a Blob (progress of a long load). */
  onBytes?: (bytes: number) => void;
}

const DEFAULT_BLOB_READS = { stallMs: 60_000, reopenLimit: 3 };

/** The parts of onnxruntime-web's module graph capture needs beyond OrtModule. */
interface OrtWebGpuParts {
  env?: { webgpu?: { device?: unknown } };
  Tensor: { fromGpuBuffer?(buffer: CaptureGpuBuffer, options: GpuTensorOptions): Tensor };
}

export class OrtEngine {
  /**
   * Tensors read back to the host since creation. On WebGPU each is a GPU→CPU transfer; on CPU backends the
   * count still shows what the pipeline pulls out, so tests can hold it to "the final image only" anywhere.
   */
  readbacks = 0;
  /** Labels of sessions onnxruntime refused to capture: later loads of them skip the attempt (it loads twice). */
  readonly #captureRefused = new Set<string>();

  constructor(readonly ort: OrtModule, readonly backend: Backend, readonly options: EngineOptions = {}) {}

  /** Whether sessions requested as per-step are opened for graph capture (WebGPU with graphCapture on). */
  get capturesPerStep(): boolean {
    return this.options.graphCapture === true && this.backend === 'webgpu';
  }

  async createSession(source: SessionSource, request: SessionRequest = {}): Promise<EngineSession> {
    const label = request.label ?? 'session';
    const log = this.options.log ?? ((m: string) => console.warn(m));
    let gaveUp: StoredReadStalledError | undefined;
    const watch: BlobReadWatch = {
      ...DEFAULT_BLOB_READS,
      ...this.options.blobReads,
      onBytes: request.onBytes,
      onStall: (s) => log(`${label}: a stored-data read delivered nothing for ${(watch.stallMs / 1000).toFixed(0)} s at byte ${s.offset} of ${s.size}; reopened it (attempt ${s.attempt})`, 'WARN'),
      onGiveUp: (e) => { gaveUp ??= e; },
    };
    const externalData = source.externalData.map((f) => (f.data instanceof Blob ? { path: f.path, data: watchBlob(f.data, watch) } : f));
    const open = async (capture: boolean) => {
      const ep = this.backend === 'node' ? 'cpu' : this.backend;
      try {
        return await this.createOrtSession(source.model, ep, externalData, capture);
      } catch (e) {
        // onnxruntime reports a failed external-data read as its own "can't create a session" error.
        if (gaveUp) throw Object.assign(gaveUp, { cause: e });
        throw e;
      }
    };
    if (!request.perStep || !this.capturesPerStep || this.#captureRefused.has(label)) {
      return plainSession(await open(false));
    }
    const web = this.ort as unknown as OrtWebGpuParts;
    const fromGpuBuffer = web.Tensor.fromGpuBuffer;
    if (!fromGpuBuffer) throw new Error('graph capture needs onnxruntime-web (Tensor.fromGpuBuffer is missing from this onnxruntime module)');
    return openCapturedSession({
      open,
      device: () => {
        const device = web.env?.webgpu?.device;
        if (!device || typeof (device as { createBuffer?: unknown }).createBuffer !== 'function') throw new Error('onnxruntime-web has no GPUDevice yet');
        return device as CaptureGpuDevice;
      },
      fromGpuBuffer: (buffer, options) => fromGpuBuffer.call(web.Tensor, buffer, options),
      log: (m) => log(m),
      refused: () => this.#captureRefused.add(label),
      label,
    });
  }

  private createOrtSession(model: SessionSource['model'], ep: string, externalData: SessionSource['externalData'], capture: boolean): Promise<InferenceSession> {
    return this.ort.InferenceSession.create(model, {
      // onnxruntime-web passes enableGraphCapture on to the WebGPU EP only when the EP is given as an object.
      executionProviders: [capture ? { name: ep } : ep],
      externalData,
      graphOptimizationLevel: 'all',
      ...(this.backend === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      ...(capture ? { enableGraphCapture: true } : {}),
    });
  }

  tensor(host: HostTensor): Tensor {
    return new this.ort.Tensor(host.dtype, host.data, host.dims);
  }

  f32(data: Float32Array, dims: number[]): Tensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  /** Copies a tensor to the host (counted). */
  async read(t: Tensor): Promise<HostTensor> {
    this.readbacks++;
    const data = (await t.getData()) as HostTensor['data'];
    return { dtype: t.type as HostTensor['dtype'], dims: [...t.dims], data };
  }

  /** Frees a GPU tensor now instead of waiting for garbage collection (no-op on the CPU). */
  dispose(t: Tensor): void {
    if (t.location === 'gpu-buffer') t.dispose();
  }
}
