/** A host tensor: the one currency between the pipeline, the CLI and onnxruntime (any backend). */
export type HostTensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface HostTensor {
  dtype: 'float32' | 'int64' | 'int32' | 'uint8' | 'float16';
  dims: number[];
  data: HostTensorData;
}

export function f32Tensor(data: Float32Array, dims: number[]): HostTensor {
  const n = dims.reduce((a, d) => a * d, 1);
  if (n !== data.length) throw new Error(`tensor of ${data.length} values does not fit dims [${dims.join(',')}]`);
  return { dtype: 'float32', dims, data };
}

export function i64Tensor(data: BigInt64Array, dims: number[]): HostTensor {
  return { dtype: 'int64', dims, data };
}

/** Anything that runs a compiled graph on host tensors: onnxruntime-node, onnxruntime-web (WASM/WebGPU). */
export interface ModelRunner {
  readonly backend: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}
