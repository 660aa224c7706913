/**
 * Installing a model: download (or resume), verify, convert while later files still download, store, commit.
 *
 * Order of events and why:
 * 1. Plan every file (size + expected digest; tiny records) and check `navigator.storage.estimate()` against
 *    what is still to be written (remaining download + the converted package): failing here writes nothing.
 * 2. Ask for `navigator.storage.persist()` — without it multi-GB data is evictable under storage pressure.
 * 3. Download all files through one limiter, in descriptor order (small files first in the built-ins), so
 *    files complete early; as soon as every file of a role is verified, that component is converted (one at
 *    a time) into the package while the others keep downloading, its raw slices are deleted, and the install
 *    record notes it (a resume keeps converted components instead of re-downloading them). The safety checker
 *    (descriptor `safetyChecker`, role 'safety_checker' in events) is one more such component: its three files
 *    are queued after the tokenizer and before the networks, verified the same way (against its own repo's
 *    tree API when the descriptor has no sha256), converted by convertViTCheckpoint into `safety/`
 *    (config.json, preprocessor_config.json, onnx/model.onnx) and recorded in the install record and the
 *    manifest (`safetyChecker`).
 * 4. manifest.json last, then the sote-models record: only now is the model listed.
 *
 * Failures: a quota error anywhere deletes everything this install wrote (package files, install record,
 * downloaded slices) and becomes StorageQuotaError; an IntegrityError deletes the bad file's slices and the
 * partial package (other verified downloads are kept for the next attempt); a network failure or an abort
 * keeps everything, so installing again resumes; any other failure drops the partial package but keeps the
 * verified downloads.
 */
import { del, get, set } from 'idb-keyval';
import { createSHA256 } from 'hash-wasm';
import { checkpointSource, type ModelKind } from '../models/checkpoint-source.ts';
import { detectKind, presetFor, type TensorShapes } from '../models/detect.ts';
import type { Precision } from '../models/model-context.ts';
import {
  componentBytes,
  MANIFEST_FILE,
  parseManifest,
  SAFETY_CHECKER_DIR,
  writeComponent,
  writeManifest,
  writePackageFile,
  type ComponentManifest,
  type PackageFile,
  type PackageSink,
  type SafetyCheckerManifest,
} from '../models/model-package.ts';
import { buildForPackage, parseModelConfig, type ModelBuildOptions } from '../models/registry.ts';
import { NSFW_LABEL } from '../safety/safety-checker.ts';
import { convertViTCheckpoint, parseViTClassifierConfig } from '../models/vit-classifier.ts';
import { blobSource } from '../weights/byte-source.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';
import {
  baseName,
  CHECKPOINT_ROLES,
  resolveUrl,
  safetyCheckerFileKind,
  type CheckpointSource,
  type HubRepo,
  type ModelDescriptor,
  type SafetyCheckerSource,
} from './descriptor.ts';
import { DescriptorError, DownloadError, StorageQuotaError } from './errors.ts';
import { modelIdFor } from './model-id.ts';
import { discardDownload, downloadFile, Limiter, OverallProgress, prepareDownload, QuotaHit, storedBytes, type DownloadContext, type FileJob } from './download.ts';
import { hubTree, type HubFileInfo } from './hub-api.ts';
import { deleteWithPrefix, isQuotaError, stores, type InstallRecord, type InstalledModel } from './idb.ts';
import { commitModel, getModel, idbPackageSink, manifestFiles, packageFileRole, writeBlobFile } from './package-store.ts';
import type { InstallEvent, InstallListener } from './progress.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
import { DEFAULT_SLICE_BYTES } from './slices.ts';

export interface InstallOptions {
  /** Precision of the converted package (checkpoint sources). @default 'fp16' */
  precision?: Precision;
  /** Hub access token (config credentials); sent only to the hub's origin. */
  token?: string;
  /** @default 32 MiB */
  sliceBytes?: number;
  /** Concurrent slice requests over all files. @default 4 */
  parallel?: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  onEvent?: InstallListener;
  fetch?: typeof fetch;
  /**
   * Check `navigator.storage.estimate()` before writing. @default true. Tests turn it off to reach the
   * mid-install QuotaExceededError path with a quota that the estimate would have refused.
   */
  checkQuota?: boolean;
  /**
   * Source of `{usage, quota}` (default navigator.storage.estimate()). Injected by tests: Chromium's estimate
   * does not reflect a CDP quota override, while IndexedDB writes do obey it.
   */
  estimate?: () => Promise<StorageFacts>;
}

/** Converted bytes per downloaded 16-bit checkpoint byte, when the descriptor gives no size. */
const PACKAGE_FACTOR: Record<Precision, number> = { fp32: 2, fp16: 1, int8: 0.6, int4: 0.35 };

export interface StorageFacts {
  usage: number;
  quota: number;
}

async function estimate(): Promise<StorageFacts> {
  const e = await navigator.storage?.estimate?.();
  return { usage: e?.usage ?? 0, quota: e?.quota ?? Number.POSITIVE_INFINITY };
}

function quotaSink(inner: PackageSink): PackageSink {
  return {
    async write(path, bytes) {
      try {
        await inner.write(path, bytes);
      } catch (e) {
        throw isQuotaError(e) ? new QuotaHit(e) : e;
      }
    },
  };
}

async function putRecord(rec: InstallRecord): Promise<void> {
  try {
    await set(rec.modelId, rec, stores().installs);
  } catch (e) {
    throw isQuotaError(e) ? new QuotaHit(e) : e;
  }
}

async function sha256OfBlob(blob: Blob): Promise<string> {
  const h = await createSHA256();
  h.init();
  const step = 16 * 2 ** 20;
  for (let at = 0; at < blob.size; at += step) h.update(new Uint8Array(await blob.slice(at, at + step).arrayBuffer()));
  return h.digest('hex');
}

/** Runs async tasks one at a time, in call order (conversions share the CPU and the package sink). */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * Installs (or resumes installing) a model. Resolves with the listed model; an already installed model is
 * returned at once.
 */
export async function installModel(descriptor: ModelDescriptor, options: InstallOptions = {}): Promise<InstalledModel> {
  const precision = options.precision ?? 'fp16';
  if (descriptor.source.kind === 'package') return installPackage(descriptor, options);
  const source = descriptor.source;
  const modelId = modelIdFor(descriptor, precision);
  const existing = await getModel(modelId);
  if (existing) return existing;

  const s = stores();
  const emit = (e: InstallEvent) => options.onEvent?.(e);
  const ac = new AbortController();
  const onUserAbort = () => ac.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onUserAbort, { once: true });
  if (options.signal?.aborted) ac.abort(options.signal.reason);
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const hubOrigin = new URL(source.hub).origin;
  const headersFor = (url: string): Record<string, string> => (options.token && new URL(url).origin === hubOrigin ? { Authorization: `Bearer ${options.token}` } : {});
  const checker = source.safetyChecker;
  const checkerRepo: HubRepo | undefined = checker && { hub: source.hub, repo: checker.repo, revision: checker.revision };
  /** Repo path of each safety checker job, by job key (their `path` is qualified with the repo for messages). */
  const checkerPaths = new Map<string, string>();
  let tree: Promise<Map<string, HubFileInfo>> | undefined;
  let checkerTree: Promise<Map<string, HubFileInfo>> | undefined;
  const ctx: DownloadContext = {
    limiter: new Limiter(options.parallel ?? 4),
    sliceBytes: options.sliceBytes ?? DEFAULT_SLICE_BYTES,
    retry: options.retry ?? DEFAULT_RETRY,
    token: options.token,
    tokenOrigin: hubOrigin,
    signal: ac.signal,
    fetch: fetchImpl,
    lookupDigest: async (job) => {
      const checkerPath = checkerPaths.get(job.key);
      if (checkerPath !== undefined && checkerRepo) return (await (checkerTree ??= hubTree(checkerRepo, headersFor, fetchImpl, ac.signal))).get(checkerPath) ?? {};
      return (await (tree ??= hubTree(source, headersFor, fetchImpl, ac.signal))).get(job.path) ?? {};
    },
    onRetry: (file, attempt, delayMs, reason) => emit({ type: 'download-retry', file, attempt, delayMs, reason }),
    overall: new OverallProgress(),
  };

  let rec = await get<InstallRecord>(modelId, s.installs);
  if (!rec || rec.precision !== precision) {
    rec = { modelId, descriptor, precision, converted: {}, tokenizer: [], startedAt: Date.now() };
  }
  const record = rec;
  const jobFor = (f: (typeof source.files)[number]): FileJob => ({
    key: `${source.repo}@${source.revision}/${f.path}`,
    url: resolveUrl(source, f.path),
    path: f.path,
    role: f.role,
    ...(f.size !== undefined ? { size: f.size } : {}),
    ...(f.sha256 ? { expected: { algorithm: 'sha256' as const, hex: f.sha256, from: 'descriptor' } } : {}),
  });
  const checkerJobs: FileJob[] = checker && checkerRepo
    ? checker.files.map((f) => {
      const key = `${checker.repo}@${checker.revision}/${f.path}`;
      checkerPaths.set(key, f.path);
      return {
        key,
        url: resolveUrl(checkerRepo, f.path),
        path: `${checker.repo}/${f.path}`,
        role: 'safety_checker',
        ...(f.size !== undefined ? { size: f.size } : {}),
        ...(f.sha256 ? { expected: { algorithm: 'sha256' as const, hex: f.sha256, from: 'descriptor' } } : {}),
      };
    })
    : [];
  const doneTokenizer = new Set(record.tokenizer.map((t) => t.path));
  const jobs = [
    ...source.files
      .filter((f) => (f.role === 'tokenizer' ? !doneTokenizer.has(`tokenizer/${baseName(f.path)}`) : !record.converted[f.role as ModelKind]))
      .map(jobFor),
    ...(record.safetyChecker ? [] : checkerJobs),
  ];
  const allJobs = [...source.files.map(jobFor), ...checkerJobs];
  let needed = 0;

  const cleanupPackage = async () => {
    await del(modelId, s.installs);
    await deleteWithPrefix(s.files, [modelId]);
  };

  try {
    // 1. Plan + quota.
    /** Download keys with nothing stored yet (see the quota refusal below). */
    const unstarted: string[] = [];
    let remaining = 0;
    let downloadTotal = 0;
    // The checker is stored as converted (fp32 ONNX ≈ its fp32 safetensors) on top of the networks' `sizes`.
    let checkerTotal = 0;
    for (const job of jobs) {
      const r = await prepareDownload(ctx, job);
      if (job.role === 'safety_checker') checkerTotal += r.size;
      else downloadTotal += r.size;
      const stored = await storedBytes(job, r);
      if (stored === 0) unstarted.push(job.key);
      remaining += r.size - stored;
      ctx.overall.set(job.key, stored, r.size);
    }
    const convertedBytes = Object.values(record.converted).reduce((a, c) => a + (c ? componentBytes(c) : 0), 0);
    const packageBytes = descriptor.sizes[precision] ?? downloadTotal * PACKAGE_FACTOR[precision];
    needed = remaining + Math.max(0, packageBytes - convertedBytes) + checkerTotal;
    const facts = await (options.estimate ?? estimate)();
    const persisted = (await navigator.storage?.persist?.().catch(() => false)) ?? false;
    emit({ type: 'quota', needed, usage: facts.usage, quota: facts.quota, persisted });
    if ((options.checkQuota ?? true) && facts.quota - facts.usage < needed) {
      // "Writes nothing": planning stored a download record per file; drop those with no slice behind them
      // (records of partly downloaded files stay, so their slices still resume once space is freed).
      for (const key of unstarted) await discardDownload(key);
      throw new StorageQuotaError(needed, Math.max(0, facts.quota - facts.usage), facts.usage, facts.quota, 'before');
    }
    await putRecord(record);

    // 2. Download everything; convert each role as soon as its files are verified.
    const sink = quotaSink(idbPackageSink(modelId));
    const converting = new SerialQueue();
    const tasks: Promise<void>[] = [];
    let firstError: unknown;
    const fail = (e: unknown) => {
      firstError ??= e;
      if (!ac.signal.aborted) ac.abort(e);
    };
    const download = (job: FileJob) => downloadFile(ctx, job,
      (j, fileProgress, overall, resumedBytes) => emit({ type: 'download', file: j.path, role: j.role, fileProgress, overall, resumedBytes }),
      (j, expected, ok) => emit({ type: 'verify', file: j.path, algorithm: expected.algorithm, expected: expected.hex, ok }));

    for (const job of jobs.filter((j) => j.role === 'tokenizer')) {
      tasks.push(download(job).then((blob) => converting.run(async () => {
        const path = `tokenizer/${baseName(job.path)}`;
        try {
          await writeBlobFile(modelId, path, blob);
        } catch (e) {
          throw isQuotaError(e) ? new QuotaHit(e) : e;
        }
        record.tokenizer.push({ path, bytes: blob.size, sha256: await sha256OfBlob(blob) });
        await putRecord(record);
        await discardDownload(job.key);
      })).catch(fail));
    }
    const checkerTodo = jobs.filter((j) => j.role === 'safety_checker');
    if (checker && checkerTodo.length) {
      tasks.push(Promise.all(checkerTodo.map(download)).then((blobs) => converting.run(async () => {
        ac.signal.throwIfAborted();
        const inputs = checkerTodo.map((j, i) => ({ path: checkerPaths.get(j.key)!, blob: blobs[i] }));
        const converted = await convertSafetyChecker(checker, inputs, sink, emit, ac.signal);
        record.safetyChecker = converted;
        await putRecord(record);
        emit({ type: 'component-done', kind: 'safety_checker', bytes: converted.files.reduce((a, f) => a + f.bytes, 0) });
        for (const j of checkerTodo) await discardDownload(j.key);
      })).catch(fail));
    }
    for (const role of CHECKPOINT_ROLES) {
      const roleJobs = jobs.filter((j) => j.role === role);
      if (!roleJobs.length) continue;
      tasks.push(Promise.all(roleJobs.map(download)).then((blobs) => converting.run(async () => {
        ac.signal.throwIfAborted();
        const comp = await convertComponent(role, roleJobs.map((j, i) => ({ name: j.path, blob: blobs[i] })), source, precision, sink, emit, ac.signal);
        record.converted[role] = comp;
        await putRecord(record);
        emit({ type: 'component-done', kind: role, bytes: componentBytes(comp) });
        for (const j of roleJobs) await discardDownload(j.key); // raw slices are not needed any more
      })).catch(fail));
    }
    await Promise.all(tasks);
    if (firstError !== undefined) throw firstError;
    ac.signal.throwIfAborted();

    // 3. Manifest last, then the commit record.
    const manifest = await writeManifest(sink, {
      name: descriptor.name,
      precision,
      components: record.converted,
      tokenizer: record.tokenizer,
      ...(record.safetyChecker ? { safetyChecker: record.safetyChecker } : {}),
      source: {
        hub: source.hub,
        repo: source.repo,
        revision: source.revision,
        descriptor: descriptor.id,
        stageAScale: String(source.stageAScale),
        ...(checker ? { safetyChecker: `${checker.repo}@${checker.revision}` } : {}),
      },
    });
    const installed = await commitModel(modelId, descriptor, manifest).catch((e: unknown) => {
      throw isQuotaError(e) ? new QuotaHit(e) : e;
    });
    await del(modelId, s.installs);
    emit({ type: 'installed', id: modelId, bytes: manifest.totalBytes });
    return installed;
  } catch (e) {
    throw await settleFailure(e, {
      cleanupPackage,
      discardAll: async () => {
        for (const j of allJobs) await discardDownload(j.key);
      },
      needed,
      userAborted: options.signal?.aborted ?? false,
    });
  } finally {
    options.signal?.removeEventListener('abort', onUserAbort);
  }
}

interface FailureActions {
  cleanupPackage(): Promise<void>;
  discardAll(): Promise<void>;
  needed: number;
  userAborted: boolean;
}

/** Applies the failure policy (module comment) and returns the error to throw. */
async function settleFailure(e: unknown, a: FailureActions): Promise<unknown> {
  if (e instanceof QuotaHit || (isQuotaError(e) && !(e instanceof StorageQuotaError))) {
    await a.cleanupPackage();
    await a.discardAll();
    const f = await estimate();
    return new StorageQuotaError(a.needed, Math.max(0, f.quota - f.usage), f.usage, f.quota, 'during', { cause: e instanceof QuotaHit ? e.cause : e });
  }
  if (e instanceof StorageQuotaError) return e; // raised before anything was written
  if (a.userAborted || (e instanceof DownloadError && e.resumable)) return e; // keep everything: resumable
  await a.cleanupPackage(); // IntegrityError (bad slices already gone), conversion errors, permanent HTTP errors
  return e;
}

/**
 * One network from its checkpoint file(s) (Blobs: stored slices or picked Files) into the package: detected
 * kind must match the role; config from the descriptor or the released-size presets.
 */
export async function convertComponent(
  role: ModelKind,
  inputs: { name: string; blob: Blob }[],
  source: Pick<CheckpointSource, 'configs' | 'stageAScale'>,
  precision: Precision,
  sink: PackageSink,
  emit: (e: InstallEvent) => void,
  signal?: AbortSignal,
): Promise<ComponentManifest> {
  const files = await Promise.all(inputs.map((f) => SafetensorsFile.open(blobSource(f.blob, f.name))));
  const shapes: TensorShapes = {
    name: inputs.map((f) => f.name).join(', '),
    has: (t) => files.some((f) => f.has(t)),
    shape: (t) => files.find((f) => f.has(t))?.info(t).shape,
  };
  const detected = detectKind(shapes);
  if (detected !== role) throw new DescriptorError(shapes.name, [`listed as ${role} but holds a ${detected} checkpoint`]);
  const raw = source.configs[role];
  const model = raw !== undefined ? parseModelConfig(raw) : presetFor(role, shapes);
  if (model.kind !== role) throw new DescriptorError(shapes.name, [`configs.${role} is a ${model.kind} config`]);
  const build: ModelBuildOptions = { precision };
  if (role === 'stage_a') build.scaleFactor = source.stageAScale;
  const { main, conditioning } = buildForPackage(model, build, checkpointSource(files, role));
  return writeComponent(sink, role, model, build, main, (p) => {
    signal?.throwIfAborted();
    if (p.type === 'chunk') emit({ type: 'convert', kind: role, chunk: p.index + 1, chunks: p.chunks, bytesDone: p.bytesDone, bytesTotal: p.bytes });
  }, conditioning);
}

/**
 * The safety checker from its verified hub files (config.json, preprocessor_config.json, one .safetensors;
 * `path` = path in the checker repo) into the package under `safety/`, in the layout transformers.js loads
 * (SafetyChecker in safety/safety-checker.ts). Its config must label a class "nsfw" (the decision reads it).
 */
export async function convertSafetyChecker(
  checker: Pick<SafetyCheckerSource, 'repo' | 'revision'>,
  inputs: { path: string; blob: Blob }[],
  sink: PackageSink,
  emit: (e: InstallEvent) => void,
  signal?: AbortSignal,
): Promise<SafetyCheckerManifest> {
  const pick = (kind: 'config' | 'preprocessor' | 'weights') => {
    const found = inputs.filter((f) => safetyCheckerFileKind(f.path) === kind);
    if (found.length !== 1) throw new DescriptorError(`safety checker ${checker.repo}`, [`expected one ${kind} file, got ${found.length}`]);
    return found[0];
  };
  const config = new Uint8Array(await pick('config').blob.arrayBuffer());
  const preprocessor = new Uint8Array(await pick('preprocessor').blob.arrayBuffer());
  const weights = pick('weights');
  let labels: string[];
  try {
    labels = parseViTClassifierConfig(JSON.parse(new TextDecoder().decode(config))).labels;
  } catch (e) {
    throw new DescriptorError(`safety checker ${checker.repo}/config.json`, [(e as Error).message]);
  }
  if (!labels.includes(NSFW_LABEL)) {
    throw new DescriptorError(`safety checker ${checker.repo}/config.json`, [`id2label has no "${NSFW_LABEL}" class (labels: ${labels.join(', ')})`]);
  }
  signal?.throwIfAborted();
  const out = await convertViTCheckpoint(config, preprocessor, await SafetensorsFile.open(blobSource(weights.blob, `${checker.repo}/${weights.path}`)));
  const bytesTotal = [...out.values()].reduce((a, b) => a + b.byteLength, 0);
  const files: PackageFile[] = [];
  let bytesDone = 0;
  let chunk = 0;
  for (const [rel, bytes] of out) {
    signal?.throwIfAborted();
    files.push(await writePackageFile(sink, `${SAFETY_CHECKER_DIR}${rel}`, bytes));
    bytesDone += bytes.byteLength;
    emit({ type: 'convert', kind: 'safety_checker', chunk: ++chunk, chunks: out.size, bytesDone, bytesTotal });
  }
  return { modelId: checker.repo, revision: checker.revision, files };
}

/**
 * A converted package served over HTTP (the tiny demo, a hosted export): every file the manifest lists is
 * downloaded with the same resumable machinery and checked against the manifest's sha256, then stored.
 */
async function installPackage(descriptor: ModelDescriptor, options: InstallOptions): Promise<InstalledModel> {
  if (descriptor.source.kind !== 'package') throw new Error('unreachable');
  const base = descriptor.source.url;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const res = await fetchImpl(new URL(MANIFEST_FILE, base).href, { credentials: 'omit', cache: 'no-store', signal: options.signal });
  if (!res.ok) throw new DownloadError(new URL(MANIFEST_FILE, base).href, `HTTP ${res.status}`, isRetryable(res.status));
  const manifestText = await res.text();
  const manifest = parseManifest(manifestText, base);
  const modelId = modelIdFor(descriptor, manifest.precision);
  const existing = await getModel(modelId);
  if (existing) return existing;
  const emit = (e: InstallEvent) => options.onEvent?.(e);
  const s = stores();
  const ac = new AbortController();
  options.signal?.addEventListener('abort', () => ac.abort(options.signal!.reason), { once: true });
  const ctx: DownloadContext = {
    limiter: new Limiter(options.parallel ?? 4),
    sliceBytes: options.sliceBytes ?? DEFAULT_SLICE_BYTES,
    retry: options.retry ?? DEFAULT_RETRY,
    tokenOrigin: 'null', // packages are public: no token
    signal: ac.signal,
    fetch: fetchImpl,
    lookupDigest: async () => ({}),
    onRetry: (file, attempt, delayMs, reason) => emit({ type: 'download-retry', file, attempt, delayMs, reason }),
    overall: new OverallProgress(),
  };
  const files = manifestFiles(manifest);
  const jobs: FileJob[] = files.map((f) => ({
    key: `${base}${f.path}@${f.sha256}`,
    url: new URL(f.path, base).href,
    path: f.path,
    role: packageFileRole(f.path),
    size: f.bytes,
    expected: { algorithm: 'sha256', hex: f.sha256, from: 'package manifest' },
  }));
  const needed = manifest.totalBytes * 2; // slices, then package files (slices are dropped as each file lands)
  try {
    const facts = await (options.estimate ?? estimate)();
    const persisted = (await navigator.storage?.persist?.().catch(() => false)) ?? false;
    emit({ type: 'quota', needed, usage: facts.usage, quota: facts.quota, persisted });
    if ((options.checkQuota ?? true) && facts.quota - facts.usage < needed) {
      throw new StorageQuotaError(needed, Math.max(0, facts.quota - facts.usage), facts.usage, facts.quota, 'before');
    }
    await putRecord({ modelId, descriptor, precision: manifest.precision, converted: {}, tokenizer: [], startedAt: Date.now() });
    await Promise.all(jobs.map(async (job) => {
      const blob = await downloadFile(ctx, job,
        (j, fileProgress, overall, resumedBytes) => emit({ type: 'download', file: j.path, role: j.role, fileProgress, overall, resumedBytes }),
        (j, expected, ok) => emit({ type: 'verify', file: j.path, algorithm: expected.algorithm, expected: expected.hex, ok }));
      try {
        await writeBlobFile(modelId, job.path, blob);
      } catch (e) {
        throw isQuotaError(e) ? new QuotaHit(e) : e;
      }
      await discardDownload(job.key);
    }).map((p) => p.catch((e: unknown) => {
      if (!ac.signal.aborted) ac.abort(e);
      throw e;
    })));
    await quotaSink(idbPackageSink(modelId)).write(MANIFEST_FILE, new TextEncoder().encode(manifestText));
    const installed = await commitModel(modelId, descriptor, manifest);
    await del(modelId, s.installs);
    emit({ type: 'installed', id: modelId, bytes: manifest.totalBytes });
    return installed;
  } catch (e) {
    throw await settleFailure(e, {
      cleanupPackage: async () => {
        await del(modelId, s.installs);
        await deleteWithPrefix(s.files, [modelId]);
      },
      discardAll: async () => {
        for (const j of jobs) await discardDownload(j.key);
      },
      needed,
      userAborted: options.signal?.aborted ?? false,
    });
  }
}

function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
