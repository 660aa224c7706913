/**
 * safetensors writer for small files (CLI outputs, test fixtures, tiny demo weights). Tensors are laid out in
 * name order with 8-byte-aligned offsets and the header padded with spaces to a multiple of 8, as the format
 * recommends; the same input always gives the same bytes.
 */
import { DTYPE_BYTES, type SafetensorsDType } from './safetensors.ts';

export interface TensorToWrite {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: { at: number; bytes: Uint8Array }[] = [];
  for (const name of names) {
    const t = tensors[name];
    const numel = t.shape.reduce((a, d) => a * d, 1);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (bytes.byteLength !== numel * DTYPE_BYTES[t.dtype]) {
      throw new Error(`tensor "${name}": ${bytes.byteLength} bytes do not fit shape ${JSON.stringify(t.shape)} of ${t.dtype}`);
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    parts.push({ at: offset, bytes });
    offset += bytes.byteLength;
    offset = Math.ceil(offset / 8) * 8;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  for (const p of parts) out.set(p.bytes, 8 + headerBytes.byteLength + p.at);
  return out;
}
