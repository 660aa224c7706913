/**
 * Node-only: writes a safetensors file tensor by tensor, a few MiB at a time, so a 7 GB file never sits in
 * memory. Each tensor's values come from `fill(tensor, start, out)`, which writes elements [start, start +
 * out.length) of that tensor (in float32; converted here to the file dtype). The sha256 is computed on the way.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { float32ArrayToFloat16 } from './float16.ts';
import type { SafetensorsDType } from './safetensors.ts';
import { safetensorsLayout, type TensorSpec } from './safetensors-writer.ts';

/** Elements per write (4 Mi: 8 MiB of 16-bit values). */
const CHUNK_ELEMENTS = 4 * 2 ** 20;

export type TensorFill = (tensor: TensorSpec, start: number, out: Float32Array) => void;

export interface WrittenFile {
  bytes: number;
  sha256: string;
}

/** float32 → bfloat16 bits, round to nearest even (torch's `.bfloat16()`); NaN stays NaN. */
export function float32ArrayToBFloat16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

function encode(dtype: SafetensorsDType, values: Float32Array): Uint8Array {
  switch (dtype) {
    case 'F32': return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': { const h = float32ArrayToFloat16(values); return new Uint8Array(h.buffer); }
    case 'BF16': { const b = float32ArrayToBFloat16(values); return new Uint8Array(b.buffer); }
    case 'I64': {
      const out = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.round(values[i]));
      return new Uint8Array(out.buffer);
    }
    default: throw new Error(`safetensors-file-writer: dtype ${dtype} is not supported`);
  }
}

/** Streams one file to `path`; returns its size and sha256. Tensors are written in the layout's (name) order. */
export async function writeSafetensorsFile(path: string, specs: readonly TensorSpec[], fill: TensorFill, metadata?: Record<string, string>): Promise<WrittenFile> {
  const layout = safetensorsLayout(specs, metadata);
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  let position = 0;
  const put = async (bytes: Uint8Array) => {
    hash.update(bytes);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position);
      done += bytesWritten;
      position += bytesWritten;
    }
  };
  try {
    await put(layout.header);
    const buffer = new Float32Array(CHUNK_ELEMENTS);
    for (const t of layout.tensors) {
      if (t.begin > position) await put(new Uint8Array(t.begin - position));
      const numel = t.shape.reduce((a, d) => a * d, 1);
      for (let start = 0; start < numel; start += CHUNK_ELEMENTS) {
        const values = buffer.subarray(0, Math.min(CHUNK_ELEMENTS, numel - start));
        fill(t, start, values);
        await put(encode(t.dtype, values));
      }
    }
    if (layout.size > position) await put(new Uint8Array(layout.size - position));
  } finally {
    await file.close();
  }
  return { bytes: layout.size, sha256: hash.digest('hex') };
}
