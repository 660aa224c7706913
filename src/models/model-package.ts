/**
 * A converted model package: for each network a graph file plus its external-data chunks, and manifest.json
 * describing everything (sizes, sha256, dtypes, parameter counts, configs, build options).
 *
 * Invariant: manifest.json is written last. A reader that finds a manifest may trust every file it lists to be
 * complete; a package without one is unfinished and must be discarded (the browser store relies on this for
 * "complete or absent").
 */
import { serializeGraph } from '../onnx/serialize.ts';
import type { ValueDef } from '../onnx/graph.ts';
import type { ModelKind } from './checkpoint-source.ts';
import type { ModelContext, Precision } from './model-context.ts';
import type { AnyModelConfig, ModelBuildOptions } from './registry.ts';

export const PACKAGE_FORMAT = 'sote-model-package';
export const PACKAGE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export interface PackageFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** One ONNX graph of a package and its weight chunks. */
export interface GraphFiles {
  graph: PackageFile;
  chunks: PackageFile[];
  /** Checkpoint parameters this graph holds. */
  parameters: number;
  /** Initializer bytes per stored dtype. */
  weightBytes: Record<string, number>;
  inputs: ValueDef[];
  outputs: ValueDef[];
}

export interface ComponentManifest extends GraphFiles {
  kind: ModelKind;
  /** The parsed config (official kwargs or HF config) the graph was built from. */
  config: AnyModelConfig['config'];
  build: ModelBuildOptions;
  /**
   * Split Stage C/B builds: the graph run once per generation that turns the conditioning into every
   * AttnBlock's kv (its outputs are the main graph's `kv.*` inputs).
   */
  conditioning?: GraphFiles;
  /** Parameters of the whole network (main + conditioning graphs): the official count. */
  totalParameters: number;
}

/**
 * Folder of the safety checker inside a package: a transformers.js image-classification model
 * (`safety/config.json`, `safety/preprocessor_config.json`, `safety/onnx/model.onnx`), converted at install
 * time from the classifier the descriptor names (store/descriptor.ts `safetyChecker`).
 */
export const SAFETY_CHECKER_DIR = 'safety/';

export interface SafetyCheckerManifest {
  /** What it was converted from: the hub repo id (e.g. "Falconsai/nsfw_image_detection"). */
  modelId: string;
  /** The revision it was fetched at (a commit id or a branch such as "main"). */
  revision?: string;
  /** Every file, with its package path (under SAFETY_CHECKER_DIR). */
  files: PackageFile[];
}

export interface PackageManifest {
  format: typeof PACKAGE_FORMAT;
  version: number;
  name: string;
  precision: Precision;
  components: Partial<Record<ModelKind, ComponentManifest>>;
  /** Tokenizer files copied from the source (vocab.json + merges.txt and/or tokenizer.json …). */
  tokenizer?: PackageFile[];
  /** The model's safety checker, when it was installed with the model. */
  safetyChecker?: SafetyCheckerManifest;
  /** Free-form provenance: source file names, hub revision, converter version. */
  source: Record<string, string>;
  totalBytes: number;
}

/** Where package files go: a directory in Node, IndexedDB in the browser, memory in tests. */
export interface PackageSink {
  write(path: string, bytes: Uint8Array): Promise<void>;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function put(sink: PackageSink, path: string, bytes: Uint8Array): Promise<PackageFile> {
  await sink.write(path, bytes);
  return { path, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) };
}

export type ConvertProgress =
  | { type: 'component-start'; kind: ModelKind; chunks: number; bytes: number }
  | { type: 'chunk'; kind: ModelKind; index: number; chunks: number; bytesDone: number; bytes: number };

/** Serializes one bound graph into the sink as `${id}.onnx` + `${id}.onnx.data.N`, one chunk in memory at a time. */
async function writeGraph(sink: PackageSink, id: string, kind: ModelKind, ctx: ModelContext, onProgress?: (p: ConvertProgress) => void): Promise<GraphFiles> {
  const s = serializeGraph(ctx.g, { dataPrefix: `${id}.onnx.data` });
  const total = s.chunks.reduce((a, c) => a + c.size, 0);
  onProgress?.({ type: 'component-start', kind, chunks: s.chunks.length, bytes: total });
  const chunks: PackageFile[] = [];
  let done = 0;
  for (let i = 0; i < s.chunks.length; i++) {
    chunks.push(await put(sink, s.chunks[i].path, await s.chunkBytes(i)));
    done += s.chunks[i].size;
    onProgress?.({ type: 'chunk', kind, index: i, chunks: s.chunks.length, bytesDone: done, bytes: total });
  }
  const weightBytes: Record<string, number> = {};
  for (const c of s.chunks) for (const e of c.entries) weightBytes[e.weight.dtype] = (weightBytes[e.weight.dtype] ?? 0) + e.length;
  return {
    graph: await put(sink, `${id}.onnx`, s.modelBytes),
    chunks,
    parameters: ctx.parameterCount(),
    weightBytes,
    inputs: ctx.g.inputs,
    outputs: ctx.g.outputs,
  };
}

/**
 * Writes one network: its main graph (`${kind}.onnx`) and, for a split build, the conditioning graph
 * (`${kind}_cond.onnx`). Both contexts must be bound.
 */
export async function writeComponent(
  sink: PackageSink,
  kind: ModelKind,
  model: AnyModelConfig,
  build: ModelBuildOptions,
  ctx: ModelContext,
  onProgress?: (p: ConvertProgress) => void,
  conditioningCtx?: ModelContext,
): Promise<ComponentManifest> {
  const main = await writeGraph(sink, kind, kind, ctx, onProgress);
  const conditioning = conditioningCtx ? await writeGraph(sink, `${kind}_cond`, kind, conditioningCtx, onProgress) : undefined;
  return {
    kind,
    config: model.config,
    build,
    ...main,
    ...(conditioning ? { conditioning } : {}),
    totalParameters: main.parameters + (conditioning?.parameters ?? 0),
  };
}

/** Bytes of one network's files: its graph and weight chunks, and those of its conditioning graph. */
export function componentBytes(c: ComponentManifest): number {
  let n = 0;
  for (const g of [c, ...(c.conditioning ? [c.conditioning] : [])]) n += g.graph.bytes + g.chunks.reduce((a, x) => a + x.bytes, 0);
  return n;
}

/** Bytes of every file a manifest lists: graphs, weight chunks, tokenizer and safety checker files. */
export function manifestTotalBytes(manifest: Pick<PackageManifest, 'components' | 'tokenizer' | 'safetyChecker'>): number {
  let totalBytes = 0;
  for (const c of Object.values(manifest.components)) if (c) totalBytes += componentBytes(c);
  for (const f of manifest.tokenizer ?? []) totalBytes += f.bytes;
  for (const f of manifest.safetyChecker?.files ?? []) totalBytes += f.bytes;
  return totalBytes;
}

export async function writeManifest(sink: PackageSink, manifest: Omit<PackageManifest, 'format' | 'version' | 'totalBytes'>): Promise<PackageManifest> {
  const totalBytes = manifestTotalBytes(manifest);
  const full: PackageManifest = { format: PACKAGE_FORMAT, version: PACKAGE_VERSION, ...manifest, totalBytes };
  await sink.write(MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(full, null, 2)));
  return full;
}

export function parseManifest(text: string, where: string): PackageManifest {
  let m: PackageManifest;
  try {
    m = JSON.parse(text) as PackageManifest;
  } catch (e) {
    throw new Error(`${where}: manifest is not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== PACKAGE_FORMAT) throw new Error(`${where}: not a ${PACKAGE_FORMAT} manifest`);
  if (m.version !== PACKAGE_VERSION) throw new Error(`${where}: package version ${m.version} is not supported (expected ${PACKAGE_VERSION})`);
  return m;
}

export { putFile as writePackageFile };
async function putFile(sink: PackageSink, path: string, bytes: Uint8Array): Promise<PackageFile> {
  return put(sink, path, bytes);
}
