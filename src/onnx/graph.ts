/**
 * An ONNX graph under construction. Knows ONNX and nothing about Stable Cascade.
 *
 * Values are plain strings (ONNX value names). Names are derived from a scope stack and a per-graph counter, so
 * the same build always produces the same names and hence the same bytes.
 *
 * Initializers come in two kinds:
 * - weights: large tensors whose bytes are produced lazily at serialization time (streamed from a checkpoint,
 *   converted, quantized) and stored as external data;
 * - constants: small tensors (shapes, axes, scalars) embedded in the graph.
 */

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10,
};

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4, float16: 2, int64: 8, int32: 4, uint8: 1, int8: 1, bool: 1,
};

/** A dimension: a fixed size or a symbolic name (dynamic axis). */
export type Dim = number | string;

export type AttrValue = number | string | number[] | string[] | { floats: number[] } | { float: number };

export interface NodeDef {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface ValueDef {
  name: string;
  dtype: DType;
  dims?: Dim[];
}

/** Produces a weight's bytes (little-endian, `dtype` layout) when the package is written. */
export type WeightBytes = () => Promise<Uint8Array>;

export interface WeightDef {
  name: string;
  dtype: DType;
  dims: number[];
  bytes: WeightBytes;
}

export interface ConstantDef {
  name: string;
  dtype: DType;
  dims: number[];
  raw: Uint8Array;
}

export class Graph {
  readonly nodes: NodeDef[] = [];
  readonly inputs: ValueDef[] = [];
  readonly outputs: ValueDef[] = [];
  readonly weights: WeightDef[] = [];
  readonly constants: ConstantDef[] = [];
  /** Opset versions by domain ('' = ai.onnx). */
  readonly opsets = new Map<string, number>([['', 21]]);
  private readonly scopes: string[] = [];
  private counter = 0;
  private readonly names = new Set<string>();
  private readonly constantCache = new Map<string, string>();

  constructor(readonly name: string) {}

  /** Runs `fn` with `prefix` added to generated value and node names (for readable graphs and debugging). */
  scope<T>(prefix: string, fn: () => T): T {
    this.scopes.push(prefix);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private fresh(hint: string): string {
    const base = [...this.scopes, hint].join('/');
    let name = `${base}_${this.counter++}`;
    while (this.names.has(name)) name = `${base}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: value name "${name}" is used twice`);
    this.names.add(name);
    return name;
  }

  input(name: string, dtype: DType, dims: Dim[]): string {
    this.inputs.push({ name: this.claim(name), dtype, dims });
    return name;
  }

  /** Marks `value` as a graph output named `name` (an Identity is inserted when the names differ). */
  output(value: string, name: string, dtype: DType, dims?: Dim[]): void {
    const out = value === name ? value : this.node('Identity', [value], {}, { outputName: name });
    this.outputs.push({ name: out, dtype, dims });
  }

  /** A large initializer stored as external data; `bytes` runs only when the model is serialized. */
  weight(name: string, dtype: DType, dims: number[], bytes: WeightBytes): string {
    this.weights.push({ name: this.claim(name), dtype, dims, bytes });
    return name;
  }

  /** A small constant embedded in the graph; identical constants are shared. */
  constant(dtype: 'float32' | 'int64' | 'int32' | 'float16' | 'uint8', dims: number[], values: ArrayLike<number> | readonly bigint[]): string {
    const raw = encodeValues(dtype, values);
    const key = `${dtype}|${dims.join(',')}|${Array.from(raw).join(',')}`;
    const hit = this.constantCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const');
    this.constants.push({ name, dtype, dims, raw });
    this.constantCache.set(key, name);
    return name;
  }

  i64(values: number[], dims: number[] = [values.length]): string {
    return this.constant('int64', dims, values);
  }

  f32(values: number[], dims: number[] = [values.length]): string {
    return this.constant('float32', dims, values);
  }

  /**
   * Adds a node; returns its output names. `inputs` may contain '' for an omitted optional input.
   */
  nodeN(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    options: { outputs?: number; domain?: string; outputNames?: string[] } = {},
  ): string[] {
    const domain = options.domain ?? '';
    if (domain && !this.opsets.has(domain)) this.opsets.set(domain, 1);
    const n = options.outputNames?.length ?? options.outputs ?? 1;
    const outputs = options.outputNames?.map((o) => this.claim(o)) ?? Array.from({ length: n }, () => this.fresh(opType));
    this.nodes.push({ opType, domain, name: `${outputs[0]}_node`, inputs, outputs, attrs });
    return outputs;
  }

  /** Adds a single-output node and returns the output name. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: { domain?: string; outputName?: string } = {}): string {
    return this.nodeN(opType, inputs, attrs, { domain: options.domain, outputNames: options.outputName ? [options.outputName] : undefined })[0];
  }
}

function encodeValues(dtype: DType, values: ArrayLike<number> | readonly bigint[]): Uint8Array {
  const n = values.length;
  const buf = new ArrayBuffer(n * DTYPE_BYTES[dtype]);
  const view = new DataView(buf);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number | bigint;
    switch (dtype) {
      case 'float32': view.setFloat32(i * 4, Number(v), true); break;
      case 'int64': view.setBigInt64(i * 8, BigInt(v), true); break;
      case 'int32': view.setInt32(i * 4, Number(v), true); break;
      case 'float16': view.setUint16(i * 2, Number(v), true); break; // caller passes half bits
      case 'uint8': view.setUint8(i, Number(v)); break;
      default: throw new Error(`constant of dtype ${dtype} is not supported`);
    }
  }
  return new Uint8Array(buf);
}
