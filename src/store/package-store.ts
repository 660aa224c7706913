/**
 * Converted packages in IndexedDB: a PackageSink that stores each file as ≤ 64 MiB Blob parts, a PackageReader
 * that hands TextToImagePipeline those Blobs (never copied into one buffer), and list / delete / re-verify.
 *
 * "Complete or absent": the sote-models record (idb.ts) is the commit point. `commitModel` writes it only
 * after the manifest file; `listModels` reads only those records; `deleteModel` removes the record first, so
 * a crash halfway through a delete leaves garbage files (collected later), never a listed half-model.
 */
import { del, get, keys, set, values } from 'idb-keyval';
import type { ModelKind } from '../models/checkpoint-source.ts';
import { MANIFEST_FILE, parseManifest, SAFETY_CHECKER_DIR, type PackageFile, type PackageManifest, type PackageSink } from '../models/model-package.ts';
import type { PackageReader } from '../pipeline/package-reader.ts';
import type { DownloadRole, ModelDescriptor } from './descriptor.ts';
import { deleteWithPrefix, prefixRange, stores, type InstalledModel, type InstallRecord } from './idb.ts';
import { IntegrityError } from './errors.ts';
import { sha256OfBlob } from './hashing.ts';

/** Largest Blob part written (docs/platform-notes Q5: 64–128 MiB Blobs store reliably, 500 MiB do not). */
export const MAX_PART_BYTES = 64 * 2 ** 20;

export function idbPackageSink(modelId: string): PackageSink {
  const { files } = stores();
  return {
    async write(path, bytes) {
      // Remove a previous version first, so a rewrite with fewer parts leaves no stale tail.
      await deleteWithPrefix(files, [modelId, path]);
      const parts = Math.max(1, Math.ceil(bytes.byteLength / MAX_PART_BYTES));
      for (let i = 0; i < parts; i++) {
        const part = bytes.subarray(i * MAX_PART_BYTES, Math.min(bytes.byteLength, (i + 1) * MAX_PART_BYTES));
        await set([modelId, path, i], new Blob([part as Uint8Array<ArrayBuffer>]), files);
      }
    },
  };
}

/** Stores an existing Blob (an imported file, a slice of a tar) as parts without reading it into memory. */
export async function writeBlobFile(modelId: string, path: string, blob: Blob): Promise<void> {
  const { files } = stores();
  await deleteWithPrefix(files, [modelId, path]);
  const parts = Math.max(1, Math.ceil(blob.size / MAX_PART_BYTES));
  for (let i = 0; i < parts; i++) await set([modelId, path, i], blob.slice(i * MAX_PART_BYTES, (i + 1) * MAX_PART_BYTES), files);
}

/** A stored file as one Blob (a list of the stored parts; no bytes are copied). */
export async function readPackageFile(modelId: string, path: string): Promise<Blob | undefined> {
  const parts = await stores().files('readonly', (s) => new Promise<Blob[]>((ok, fail) => {
    const r = s.getAll(prefixRange([modelId, path]));
    r.onsuccess = () => ok(r.result as Blob[]);
    r.onerror = () => fail(r.error);
  }));
  return parts.length ? new Blob(parts) : undefined;
}

/** Reads an installed package: file(path) → Blob, for TextToImagePipeline.load(engine, reader). */
export function idbPackageReader(modelId: string): PackageReader {
  const description = `indexeddb:${modelId}`;
  const file = async (path: string) => {
    const b = await readPackageFile(modelId, path);
    if (!b) throw new Error(`${description}: package has no file ${path}`);
    return b;
  };
  return { description, file, text: async (path) => (await file(path)).text() };
}

/**
 * Every file a manifest lists (graphs, weight chunks, conditioning graphs, tokenizer, safety checker): what
 * re-verify hashes, export packs and import / package installs copy.
 */
export function manifestFiles(m: PackageManifest): PackageFile[] {
  const out: PackageFile[] = [];
  for (const c of Object.values(m.components)) {
    if (!c) continue;
    for (const g of [c, ...(c.conditioning ? [c.conditioning] : [])]) out.push(g.graph, ...g.chunks);
  }
  out.push(...(m.tokenizer ?? []));
  out.push(...(m.safetyChecker?.files ?? []));
  return out;
}

const COMPONENT_FILE = /^(clip_text|stage_c|stage_b|stage_a)(_cond)?\.onnx(\.data\.\d+)?$/;

/**
 * The role a converted package's file plays (progress events of a package install): `tokenizer/…` →
 * tokenizer, `safety/…` → safety_checker, `<kind>[_cond].onnx[.data.N]` → that network. Throws on a path a
 * package never contains, rather than reporting a made-up role.
 */
export function packageFileRole(path: string): DownloadRole {
  if (path.startsWith('tokenizer/')) return 'tokenizer';
  if (path.startsWith(SAFETY_CHECKER_DIR)) return 'safety_checker';
  const m = COMPONENT_FILE.exec(path);
  if (!m) throw new Error(`package file ${path} belongs to no network, tokenizer or safety checker`);
  return m[1] as ModelKind;
}

/** The commit point of an install: after this the model is listed. */
export async function commitModel(modelId: string, descriptor: ModelDescriptor, manifest: PackageManifest): Promise<InstalledModel> {
  const record: InstalledModel = {
    id: modelId,
    descriptorId: descriptor.id,
    name: descriptor.name,
    precision: manifest.precision,
    bytes: manifest.totalBytes,
    manifest,
    descriptor,
    installedAt: Date.now(),
  };
  await set(modelId, record, stores().models);
  return record;
}

export async function listModels(): Promise<InstalledModel[]> {
  const all = await values<InstalledModel>(stores().models);
  return all.sort((a, b) => a.installedAt - b.installedAt);
}

/** Installs that started and did not finish (cancelled, failed resumably, tab closed); install resumes them. */
export async function listInstallRecords(): Promise<InstallRecord[]> {
  return values<InstallRecord>(stores().installs);
}

export async function getModel(modelId: string): Promise<InstalledModel | undefined> {
  return get<InstalledModel>(modelId, stores().models);
}

/** Unlists the model, then frees its files (and any install state under the same id). */
export async function deleteModel(modelId: string): Promise<void> {
  const s = stores();
  await del(modelId, s.models);
  await del(modelId, s.installs);
  await deleteWithPrefix(s.files, [modelId]);
}

/** Package files whose model is neither installed nor being installed (left by a crash mid-delete). */
export async function collectGarbage(): Promise<number> {
  const s = stores();
  const live = new Set<string>([...(await keys<string>(s.models)), ...(await keys<string>(s.installs))]);
  const ids = new Set((await keys<IDBValidKey[]>(s.files)).map((k) => String(k[0])));
  let removed = 0;
  for (const id of ids) {
    if (live.has(id)) continue;
    await deleteWithPrefix(s.files, [id]);
    removed++;
  }
  return removed;
}

export interface VerifyReport {
  files: number;
  bytes: number;
  /** One entry per file whose stored bytes do not match the manifest. */
  problems: IntegrityError[];
}

/** Re-hashes every stored file (sha256, streamed part by part) against the manifest. */
export async function verifyModel(modelId: string, onFile?: (path: string, ok: boolean) => void): Promise<VerifyReport> {
  const manifestBlob = await readPackageFile(modelId, MANIFEST_FILE);
  if (!manifestBlob) throw new Error(`indexeddb:${modelId}: no manifest (not installed)`);
  const manifest = parseManifest(await manifestBlob.text(), `indexeddb:${modelId}`);
  const problems: IntegrityError[] = [];
  let bytes = 0;
  const files = manifestFiles(manifest);
  for (const f of files) {
    const blob = await readPackageFile(modelId, f.path);
    let actual = 'missing';
    if (blob) {
      actual = await sha256OfBlob(blob);
      bytes += blob.size;
    }
    const ok = actual === f.sha256 && blob?.size === f.bytes;
    if (!ok) problems.push(new IntegrityError(`${modelId}/${f.path}`, f.sha256, actual, 'sha256'));
    onFile?.(f.path, ok);
  }
  return { files: files.length, bytes, problems };
}
