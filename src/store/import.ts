/**
 * Import from disk, no network:
 * - an exported package: one .tar (export.ts), or the unpacked folder's files (manifest.json among them) —
 *   every file is checked against the manifest's sha256 and size, then stored as is;
 * - checkpoints: picked/dropped .safetensors (one or more per network, recognised by their tensors) plus
 *   tokenizer files (vocab.json, merges.txt, …, by name) — converted exactly as a download would be — and,
 *   optionally, the safety checker's three files (config.json, preprocessor_config.json and a ViT classifier
 *   .safetensors, as Falconsai/nsfw_image_detection publishes them), converted into safety/ like an install.
 * Same commit rule as installs: package files first, manifest, then the listed record; any failure removes
 * what this import wrote (a quota failure becomes StorageQuotaError).
 */
import type { ModelKind } from '../models/checkpoint-source.ts';
import { detectKind } from '../models/detect.ts';
import type { Precision } from '../models/model-context.ts';
import { MANIFEST_FILE, parseManifest, writeManifest, type ComponentManifest, type PackageFile, type PackageSink } from '../models/model-package.ts';
import { blobSource } from '../weights/byte-source.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';
import { CHECKPOINT_ROLES, parseDescriptor, safetyCheckerFileKind, type CheckpointSource, type ModelDescriptor } from './descriptor.ts';
import { convertComponent, convertSafetyChecker, estimatePackageBytes } from './convert-component.ts';
import { DescriptorError, IntegrityError } from './errors.ts';
import { DESCRIPTOR_FILE } from './export.ts';
import { sha256OfBlob } from './hashing.ts';
import { deleteWithPrefix, stores, type InstalledModel } from './idb.ts';
import { commitModel, idbPackageSink, manifestFiles, writeBlobFile } from './package-store.ts';
import type { InstallListener } from './progress.ts';
import { estimateStorage, isQuotaError, isRollingQuotaWindow, quotaError, quotaErrorAfter } from './quota.ts';
import { readTar } from './tar.ts';

export interface ImportOptions {
  /** Store id (default: `<name>@<precision>`). */
  id?: string;
  /** For checkpoints: name, configs, Stage A scale, defaults (default: presets, 0.43, generic defaults). */
  descriptor?: ModelDescriptor;
  /** For checkpoints. @default 'fp16' */
  precision?: Precision;
  onEvent?: InstallListener;
}

const TOKENIZER_NAMES = ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'imported';
}

function localDescriptor(name: string, defaults?: ModelDescriptor): ModelDescriptor {
  return defaults ?? {
    id: slug(name),
    name,
    source: { kind: 'checkpoints', hub: 'file:', repo: 'local/import', revision: 'local', files: [], configs: {}, stageAScale: 0.43 },
    defaults: { width: 1024, height: 1024, stageC: { steps: 20, cfg: 4 }, stageB: { steps: 10, cfg: 1.1 } },
    sizes: {},
    requirements: { gpuFeatures: [] },
  };
}

/** Runs `body` for a new model id; on failure deletes every file written under it. */
async function guarded<T>(modelId: string, needed: number, body: () => Promise<T>): Promise<T> {
  const before = await estimateStorage();
  if (before.quota - before.usage < needed && !isRollingQuotaWindow(before)) throw quotaError(needed, before, 'before');
  await navigator.storage?.persist?.().catch(() => false);
  try {
    return await body();
  } catch (e) {
    await deleteWithPrefix(stores().files, [modelId]);
    throw isQuotaError(e) ? await quotaErrorAfter(e, needed) : e;
  }
}

/** A Hugging Face ViTForImageClassification checkpoint (a safety checker), by its tensor names. */
function isViTClassifier(st: SafetensorsFile): boolean {
  return st.has('vit.embeddings.cls_token') && st.has('classifier.weight');
}

/** Path of a picked file relative to the folder that holds manifest.json (directory picks carry webkitRelativePath). */
function relativePaths(files: File[]): Map<string, Blob> {
  const full = files.map((f) => ({ path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, file: f as Blob }));
  return new Map(full.map((f) => [f.path, f.file]));
}

/** Imports an exported package (tar or unpacked files) or checkpoint files; resolves with the listed model. */
export async function importFiles(files: File[], options: ImportOptions = {}): Promise<InstalledModel> {
  if (files.length === 1 && /\.tar$/i.test(files[0].name)) return importPackage(await readTar(files[0]), options);
  const byPath = relativePaths(files);
  if ([...byPath.keys()].some((p) => p === MANIFEST_FILE || p.endsWith(`/${MANIFEST_FILE}`))) return importPackage(byPath, options);
  return importCheckpoints(files, options);
}

async function importPackage(entries: Map<string, Blob>, options: ImportOptions): Promise<InstalledModel> {
  const manifestPath = [...entries.keys()].filter((p) => p === MANIFEST_FILE || p.endsWith(`/${MANIFEST_FILE}`)).sort((a, b) => a.length - b.length)[0];
  if (!manifestPath) throw new DescriptorError('import', ['no manifest.json among the files']);
  const root = manifestPath.slice(0, manifestPath.length - MANIFEST_FILE.length);
  const manifestText = await entries.get(manifestPath)!.text();
  const manifest = parseManifest(manifestText, manifestPath);
  const descText = await entries.get(`${root}${DESCRIPTOR_FILE}`)?.text();
  let descriptor = descText ? parseStored(descText) : undefined;
  descriptor ??= localDescriptor(manifest.name, options.descriptor);
  const modelId = options.id ?? `${descriptor.id}@${manifest.precision}`;
  return guarded(modelId, manifest.totalBytes, async () => {
    for (const f of manifestFiles(manifest)) {
      const blob = entries.get(`${root}${f.path}`);
      if (!blob) throw new DescriptorError('import', [`the package has no ${f.path}`]);
      if (blob.size !== f.bytes) throw new IntegrityError(f.path, String(f.bytes), String(blob.size), 'size');
      const actual = await sha256OfBlob(blob);
      options.onEvent?.({ type: 'verify', file: f.path, algorithm: 'sha256', expected: f.sha256, ok: actual === f.sha256 });
      if (actual !== f.sha256) throw new IntegrityError(f.path, f.sha256, actual, 'sha256');
      await writeBlobFile(modelId, f.path, blob);
    }
    await writeBlobFile(modelId, MANIFEST_FILE, new Blob([manifestText]));
    const m = await commitModel(modelId, descriptor, manifest);
    options.onEvent?.({ type: 'installed', id: modelId, bytes: manifest.totalBytes });
    return m;
  });
}

/** A stored descriptor was validated when it was installed; re-validate anyway (it came from a file). */
function parseStored(text: string): ModelDescriptor | undefined {
  try {
    const raw = JSON.parse(text) as ModelDescriptor;
    // The stored form is already normalized (hub filled in); parseDescriptor accepts it as input too.
    return parseDescriptor(raw.source.kind === 'package' ? { ...raw, source: { kind: 'package', url: raw.source.url } } : raw, { url: 'import' });
  } catch {
    return undefined;
  }
}

async function importCheckpoints(files: File[], options: ImportOptions): Promise<InstalledModel> {
  const precision = options.precision ?? 'fp16';
  const descriptor = localDescriptor(files.find((f) => /stage_c\.safetensors$/.test(f.name))?.name.replace(/-?stage_c\.safetensors$/, '') || 'Imported model', options.descriptor);
  const source: Pick<CheckpointSource, 'configs' | 'stageAScale'> = descriptor.source.kind === 'checkpoints' ? descriptor.source : { configs: {}, stageAScale: 0.43 };
  const byKind = new Map<ModelKind, File[]>();
  const tokenizer: File[] = [];
  /** A safety checker picked along (Falconsai/nsfw_image_detection's config.json, preprocessor_config.json, model.safetensors). */
  const checker: File[] = [];
  const problems: string[] = [];
  for (const f of files) {
    if (TOKENIZER_NAMES.includes(f.name)) {
      tokenizer.push(f);
      continue;
    }
    if (f.name === 'config.json' || f.name === 'preprocessor_config.json') {
      checker.push(f);
      continue;
    }
    if (!/\.safetensors$/i.test(f.name)) {
      problems.push(`${f.name}: not a .safetensors, tokenizer or safety-checker file`);
      continue;
    }
    const st = await SafetensorsFile.open(blobSource(f, f.name));
    if (isViTClassifier(st)) {
      checker.push(f);
      continue;
    }
    const kind = detectKind({ name: f.name, has: (t) => st.has(t), shape: (t) => st.tensors.get(t)?.shape });
    byKind.set(kind, [...(byKind.get(kind) ?? []), f]);
  }
  for (const role of CHECKPOINT_ROLES) if (!byKind.has(role)) problems.push(`no ${role} checkpoint among the files`);
  if (checker.length) {
    const kinds = checker.map((f) => safetyCheckerFileKind(f.name));
    for (const k of ['config', 'preprocessor', 'weights'] as const) {
      const n = kinds.filter((x) => x === k).length;
      if (n !== 1) problems.push(`safety checker: expected one ${k === 'weights' ? 'ViT classifier .safetensors' : k === 'config' ? 'config.json' : 'preprocessor_config.json'}, got ${n} (pick all three files of Falconsai/nsfw_image_detection, or none)`);
    }
  }
  const tokNames = tokenizer.map((f) => f.name);
  if (!tokNames.includes('tokenizer.json') && !(tokNames.includes('vocab.json') && tokNames.includes('merges.txt'))) problems.push('no tokenizer (vocab.json + merges.txt or tokenizer.json)');
  if (problems.length) throw new DescriptorError('import', problems);

  const modelId = options.id ?? `${descriptor.id}@${precision}`;
  const checkpointBytes = [...byKind.values()].flat().reduce((a, f) => a + f.size, 0);
  const emit = (e: Parameters<InstallListener>[0]) => options.onEvent?.(e);
  return guarded(modelId, descriptor.sizes[precision] ?? estimatePackageBytes(checkpointBytes, precision), async () => {
    const sink: PackageSink = idbPackageSink(modelId);
    const components: Partial<Record<ModelKind, ComponentManifest>> = {};
    for (const role of CHECKPOINT_ROLES) {
      components[role] = await convertComponent(role, byKind.get(role)!.map((f) => ({ name: f.name, blob: f })), source, precision, sink, emit);
    }
    const tok: PackageFile[] = [];
    for (const f of tokenizer) {
      await writeBlobFile(modelId, `tokenizer/${f.name}`, f);
      tok.push({ path: `tokenizer/${f.name}`, bytes: f.size, sha256: await sha256OfBlob(f) });
    }
    const safetyChecker = checker.length
      ? await convertSafetyChecker({ repo: 'local/import', revision: 'local' }, checker.map((f) => ({ path: f.name, blob: f })), sink, emit)
      : undefined;
    const manifest = await writeManifest(sink, {
      name: descriptor.name, precision, components, tokenizer: tok, ...(safetyChecker ? { safetyChecker } : {}),
      source: Object.fromEntries([...byKind.values()].flat().map((f, i) => [`file${i}`, f.name])),
    });
    const m = await commitModel(modelId, descriptor, manifest);
    emit({ type: 'installed', id: modelId, bytes: manifest.totalBytes });
    return m;
  });
}
