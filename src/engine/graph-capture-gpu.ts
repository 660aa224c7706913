/**
 * The few WebGPU calls graph capture makes itself (the project's TypeScript lib has no WebGPU types, so the
 * members used are declared here): fixed buffers, and reading one back for a captured output's getData().
 */
import type { Tensor } from 'onnxruntime-common';

export interface CaptureGpuBuffer {
  readonly size: number;
  destroy(): void;
}
interface MappableBuffer extends CaptureGpuBuffer {
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
}
export interface CaptureGpuDevice {
  createBuffer(descriptor: { size: number; usage: number }): CaptureGpuBuffer;
  createCommandEncoder(): {
    copyBufferToBuffer(source: unknown, sourceOffset: number, destination: CaptureGpuBuffer, destinationOffset: number, size: number): void;
    finish(): unknown;
  };
  queue: { writeBuffer(buffer: CaptureGpuBuffer, offset: number, data: ArrayBufferView): void; submit(commands: unknown[]): void };
}

/** GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST */
export const STORAGE_COPY = 0x80 | 0x04 | 0x08;
/** GPUBufferUsage.MAP_READ | COPY_DST */
const READBACK = 0x01 | 0x08;
/** GPUMapMode.READ */
const MAP_READ = 0x01;

/** Copies and buffer sizes must be multiples of 4 bytes in WebGPU. */
export const align4 = (n: number): number => Math.ceil(n / 4) * 4;

const ARRAYS = {
  float32: Float32Array, float16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array,
  uint64: BigUint64Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int4: Uint8Array, uint4: Uint8Array,
} as const;

/** The first `bytes` of a storage buffer, as the typed array of `type` (queued after all earlier GPU work). */
export async function downloadBuffer(device: CaptureGpuDevice, source: CaptureGpuBuffer, bytes: number, type: Tensor.GpuBufferDataTypes): Promise<Tensor.DataTypeMap[Tensor.GpuBufferDataTypes]> {
  const size = align4(bytes);
  const staging = device.createBuffer({ size, usage: READBACK }) as MappableBuffer;
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    const data = staging.getMappedRange().slice(0, bytes);
    return new ARRAYS[type](data) as Tensor.DataTypeMap[Tensor.GpuBufferDataTypes];
  } finally {
    staging.destroy();
  }
}
