/**
 * safetensors reader. Layout: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
 * then the data; offsets are relative to the first byte after the header. Only the header is read up front;
 * each tensor is read on demand, so a 7 GB checkpoint costs a few MB of memory until its tensors are used.
 */
import type { ByteSource } from './byte-source.ts';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from './float16.ts';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Absolute byte range in the file, [begin, end). */
  readonly begin: number;
  readonly end: number;
}

/** Every problem with a checkpoint file names the file, so a user with five files knows which one is bad. */
export class SafetensorsError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

/** Header JSON larger than this is not a real checkpoint (the 3.6B Stage C header is ~150 KB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsFile {
  private constructor(
    readonly source: ByteSource,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
    readonly byteSize: number,
  ) {}

  static async open(source: ByteSource): Promise<SafetensorsFile> {
    const fail = (problem: string): never => {
      throw new SafetensorsError(source.name, problem);
    };
    const size = await source.size();
    if (size < 8) fail(`file is ${size} bytes, too short for a safetensors header`);
    const lenBytes = await source.read(0, 8);
    const headerLen = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (headerLen > size - 8) fail(`header length ${headerLen} runs past the end of the file (${size} bytes)`);
    if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} is implausibly large`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, headerLen)));
    } catch (e) {
      fail(`header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
    const dataStart = 8 + headerLen;
    const dataLen = size - dataStart;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const dtype = entry?.dtype as SafetensorsDType;
      if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(entry?.dtype)}`);
      const shape = entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
      }
      const offsets = entry.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
        fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
      }
      const [b, e] = offsets as [number, number];
      if (e < b || e > dataLen) fail(`tensor "${name}" data_offsets [${b}, ${e}] are outside the data section (${dataLen} bytes)`);
      const numel = (shape as number[]).reduce((a, d) => a * d, 1);
      if (e - b !== numel * DTYPE_BYTES[dtype]) {
        fail(`tensor "${name}" has ${e - b} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${numel * DTYPE_BYTES[dtype]}`);
      }
      tensors.set(name, { name, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
    }
    const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((x, y) => x.begin - y.begin);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].begin < sorted[i - 1].end) fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`);
    }
    return new SafetensorsFile(source, tensors, metadata, size);
  }

  get name(): string {
    return this.source.name;
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(this.source.name, `has no tensor "${name}"`);
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The stored bytes of one tensor, unconverted (little-endian). */
  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return this.source.read(t.begin, t.end - t.begin);
  }

  /** Any float dtype (F64/F32/F16/BF16) or integer dtype converted to float32. */
  async readFloat32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    return toFloat32(t.dtype, await this.readRaw(name));
  }

  /** I64 (or smaller integer) tensors as bigint64 values. */
  async readInt64(name: string): Promise<BigInt64Array> {
    const t = this.info(name);
    const raw = await this.readRaw(name);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const n = raw.byteLength / DTYPE_BYTES[t.dtype];
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      switch (t.dtype) {
        case 'I64': out[i] = view.getBigInt64(i * 8, true); break;
        case 'I32': out[i] = BigInt(view.getInt32(i * 4, true)); break;
        case 'I16': out[i] = BigInt(view.getInt16(i * 2, true)); break;
        case 'I8': out[i] = BigInt(view.getInt8(i)); break;
        case 'U8': case 'BOOL': out[i] = BigInt(view.getUint8(i)); break;
        default: throw new SafetensorsError(this.source.name, `tensor "${name}" is ${t.dtype}, not an integer type`);
      }
    }
    return out;
  }
}

export function toFloat32(dtype: SafetensorsDType, raw: Uint8Array): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / DTYPE_BYTES[dtype];
  if (dtype === 'F32') {
    // Copy so the result is aligned and owned regardless of the source buffer.
    return new Float32Array(raw.slice().buffer);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F64': out[i] = view.getFloat64(i * 8, true); break;
      case 'F16': out[i] = float16BitsToFloat32(view.getUint16(i * 2, true)); break;
      case 'BF16': out[i] = bfloat16BitsToFloat32(view.getUint16(i * 2, true)); break;
      case 'I64': out[i] = Number(view.getBigInt64(i * 8, true)); break;
      case 'I32': out[i] = view.getInt32(i * 4, true); break;
      case 'I16': out[i] = view.getInt16(i * 2, true); break;
      case 'I8': out[i] = view.getInt8(i); break;
      case 'U8': case 'BOOL': out[i] = view.getUint8(i); break;
    }
  }
  return out;
}
