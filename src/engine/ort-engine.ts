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
import type { HostTensor } from './tensor.ts';

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

export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export class OrtEngine {
  /**
   * Tensors read back to the host since creation. On WebGPU each is a GPU→CPU transfer; on CPU backends the
   * count still shows what the pipeline pulls out, so tests can hold it to "the final image only" anywhere.
   */
  readbacks = 0;

  constructor(readonly ort: OrtModule, readonly backend: Backend) {}

  async createSession(source: SessionSource): Promise<EngineSession> {
    const ep = this.backend === 'node' ? 'cpu' : this.backend;
    const session = await this.ort.InferenceSession.create(source.model, {
      executionProviders: [ep],
      externalData: source.externalData,
      graphOptimizationLevel: 'all',
      ...(this.backend === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    });
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: (feeds) => session.run(feeds) as Promise<Record<string, Tensor>>,
      release: () => session.release(),
    };
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
