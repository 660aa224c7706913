/**
 * Graph → ONNX ModelProto bytes + external-data chunk files.
 *
 * Invariants (relied on by the model store and by onnxruntime's externalData loader):
 * - every weight lives in exactly one chunk; offsets are multiples of ALIGN (64 bytes) so a GPU upload can
 *   map them without copying;
 * - a chunk holds at most `maxChunkBytes`, except a single tensor larger than that, which gets a chunk alone
 *   (IndexedDB stores values ≤ ~400 MB reliably; see platform-notes Q5);
 * - the plan depends only on weight sizes, so the model bytes are known before any weight byte is produced,
 *   and the same graph always gives the same bytes.
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO_SUBSET } from './onnx-schema.ts';
import { DTYPE_BYTES, type Graph, ONNX_DTYPE, type ValueDef, type WeightDef, type AttrValue } from './graph.ts';

export const ALIGN = 64;
export const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** ONNX IR version 10 goes with opset 21. */
const IR_VERSION = 10;

let modelType: protobuf.Type | undefined;
function modelProtoType(): protobuf.Type {
  return (modelType ??= protobuf.parse(ONNX_PROTO_SUBSET).root.lookupType('onnx.ModelProto'));
}

export interface ChunkEntry {
  weight: WeightDef;
  offset: number;
  length: number;
}

export interface ChunkPlan {
  /** The location string stored in the model; onnxruntime matches externalData entries by it. */
  path: string;
  size: number;
  entries: ChunkEntry[];
}

export interface SerializedModel {
  modelBytes: Uint8Array;
  chunks: ChunkPlan[];
  /** Produces one chunk's bytes (awaiting each weight's producer in order). */
  chunkBytes(index: number): Promise<Uint8Array>;
}

export interface SerializeOptions {
  /** Chunk files are named `${dataPrefix}.${i}`; defaults to `${graph.name}.data`. */
  dataPrefix?: string;
  /** Names chunk i instead of dataPrefix (transformers.js expects `model.onnx_data`, `model.onnx_data_1`, …). */
  chunkPath?: (index: number) => string;
  maxChunkBytes?: number;
  docString?: string;
  metadata?: Record<string, string>;
}

export function weightByteLength(w: WeightDef): number {
  return w.dims.reduce((a, d) => a * d, 1) * DTYPE_BYTES[w.dtype];
}

export function planChunks(weights: readonly WeightDef[], dataPrefix: string | ((index: number) => string), maxChunkBytes = DEFAULT_MAX_CHUNK_BYTES): ChunkPlan[] {
  const pathOf = typeof dataPrefix === 'string' ? (i: number) => `${dataPrefix}.${i}` : dataPrefix;
  const chunks: ChunkPlan[] = [];
  let current: ChunkPlan | undefined;
  for (const weight of weights) {
    const length = weightByteLength(weight);
    const offset = current ? Math.ceil(current.size / ALIGN) * ALIGN : 0;
    if (!current || (current.entries.length > 0 && offset + length > maxChunkBytes)) {
      current = { path: pathOf(chunks.length), size: 0, entries: [] };
      chunks.push(current);
    }
    const at = Math.ceil(current.size / ALIGN) * ALIGN;
    current.entries.push({ weight, offset: at, length });
    current.size = at + length;
  }
  return chunks;
}

function valueInfo(v: ValueDef): object {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[v.dtype],
        ...(v.dims ? { shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}),
      },
    },
  };
}

function attribute(name: string, v: AttrValue): object {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integer ${v}`);
    return { name, type: 2, i: v };
  }
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number')) return { name, type: 7, ints: v };
    return { name, type: 8, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
  }
  if ('float' in v) return { name, type: 1, f: v.float };
  return { name, type: 6, floats: v.floats };
}

export function serializeGraph(graph: Graph, options: SerializeOptions = {}): SerializedModel {
  const dataPrefix = options.dataPrefix ?? `${graph.name}.data`;
  const chunks = planChunks(graph.weights, options.chunkPath ?? dataPrefix, options.maxChunkBytes);
  const initializers: object[] = [];
  for (const c of graph.constants) {
    initializers.push({ name: c.name, dims: c.dims, dataType: ONNX_DTYPE[c.dtype], rawData: c.raw });
  }
  for (const chunk of chunks) {
    for (const e of chunk.entries) {
      initializers.push({
        name: e.weight.name,
        dims: e.weight.dims,
        dataType: ONNX_DTYPE[e.weight.dtype],
        dataLocation: 1,
        externalData: [
          { key: 'location', value: chunk.path },
          { key: 'offset', value: String(e.offset) },
          { key: 'length', value: String(e.length) },
        ],
      });
    }
  }
  const model = {
    irVersion: IR_VERSION,
    producerName: 'sote-webgpu',
    producerVersion: '1',
    ...(options.docString ? { docString: options.docString } : {}),
    opsetImport: [...graph.opsets].map(([domain, version]) => ({ domain, version })),
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        opType: n.opType,
        ...(n.domain ? { domain: n.domain } : {}),
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      })),
      initializer: initializers,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  const type = modelProtoType();
  const modelBytes = type.encode(type.fromObject(model)).finish();
  return {
    modelBytes,
    chunks,
    async chunkBytes(index: number): Promise<Uint8Array> {
      const chunk = chunks[index];
      const out = new Uint8Array(chunk.size);
      for (const e of chunk.entries) {
        const bytes = await e.weight.bytes();
        if (bytes.byteLength !== e.length) {
          throw new Error(`weight ${e.weight.name}: producer gave ${bytes.byteLength} bytes, expected ${e.length}`);
        }
        out.set(bytes, e.offset);
      }
      return out;
    },
  };
}

export interface InMemoryModel {
  model: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
}

/** Serializes and materializes every chunk (tests, tiny models, CLI forward on small configs). */
export async function serializeToMemory(graph: Graph, options: SerializeOptions = {}): Promise<InMemoryModel> {
  const s = serializeGraph(graph, options);
  const externalData: { path: string; data: Uint8Array }[] = [];
  for (let i = 0; i < s.chunks.length; i++) externalData.push({ path: s.chunks[i].path, data: await s.chunkBytes(i) });
  return { model: s.modelBytes, externalData };
}
