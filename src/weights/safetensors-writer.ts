/**
 * safetensors writer for small files (CLI outputs, test fixtures, tiny demo weights), and the layout that streamed
 * writers of big files use (safetensors-file-writer.ts). Tensors are laid out in
 * name order with 8-byte-aligned offsets and the header padded with spaces to a multiple of 8, as the format
 * recommends; the same input always gives the same bytes.
 */
import { DTYPE_BYTES, type SafetensorsDType } from './safetensors.ts';

export interface TensorToWrite {
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

/** A tensor's place in a file laid out by `safetensorsLayout`. */
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDType;
  shape: readonly number[];
}

export interface SafetensorsLayout {
  /** The 8-byte length prefix plus the padded JSON header: the file's first `header.byteLength` bytes. */
  header: Uint8Array;
  /** Tensors in file order with their absolute byte ranges [begin, end); gaps between them are zero padding. */
  tensors: (TensorSpec & { begin: number; end: number })[];
  /** Total file size in bytes. */
  size: number;
}

/**
 * The header and tensor placement of a file, without any tensor data: name order, 8-byte-aligned offsets, the
 * header padded with spaces to a multiple of 8. encodeSafetensors and streamed writers (full-size fixtures,
 * written tensor by tensor) share it, so both give the same bytes for the same tensors.
 */
export function safetensorsLayout(specs: readonly TensorSpec[], metadata?: Record<string, string>): SafetensorsLayout {
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const placed: { spec: TensorSpec; at: number; bytes: number }[] = [];
  for (const t of sorted) {
    const bytes = t.shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    placed.push({ spec: t, at: offset, bytes });
    offset = Math.ceil((offset + bytes) / 8) * 8;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const headerJson = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerJson.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerJson.byteLength), true);
  out.set(headerJson, 8);
  const base = out.byteLength;
  return {
    header: out,
    tensors: placed.map((p) => ({ ...p.spec, begin: base + p.at, end: base + p.at + p.bytes })),
    size: base + offset,
  };
}

export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const specs: TensorSpec[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (t.data.byteLength !== numel * DTYPE_BYTES[t.dtype]) {
      throw new Error(`tensor "${name}": ${t.data.byteLength} bytes do not fit shape ${JSON.stringify(t.shape)} of ${t.dtype}`);
    }
    specs.push({ name, dtype: t.dtype, shape: t.shape });
  }
  const layout = safetensorsLayout(specs, metadata);
  const out = new Uint8Array(layout.size);
  out.set(layout.header, 0);
  for (const p of layout.tensors) {
    const d = tensors[p.name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p.begin);
  }
  return out;
}
