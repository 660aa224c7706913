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
 * Failures follow the install session's policy (install-session.ts): a quota error deletes everything this
 * install wrote; an IntegrityError deletes the bad file's slices and the partial package (other verified
 * downloads are kept for the next attempt); a network failure or an abort keeps everything, so installing again
 * resumes. Packages served already converted are installed by install-package.ts.
 */
import { get } from 'idb-keyval';
import type { ModelKind } from '../models/checkpoint-source.ts';
import type { Precision } from '../models/model-context.ts';
import { componentBytes, writeManifest, type PackageManifest, type PackageSink } from '../models/model-package.ts';
import { convertComponent, convertSafetyChecker, estimatePackageBytes } from './convert-component.ts';
import { baseName, CHECKPOINT_ROLES, fileRepo, resolveUrl, type CheckpointSource, type HubRepo, type ModelDescriptor } from './descriptor.ts';
import { discardDownload, prepareDownload, storedBytes, tokenHeaders, type DownloadContext, type FileJob } from './download.ts';
import { sha256OfBlob } from './hashing.ts';
import { hubTree, type HubFileInfo } from './hub-api.ts';
import { stores, type InstalledModel, type InstallRecord } from './idb.ts';
import { installPackage } from './install-package.ts';
import { InstallSession, type InstallOptions, type SessionSource } from './install-session.ts';
import { modelIdFor } from './model-id.ts';
import { getModel, idbPackageSink, writeBlobFile } from './package-store.ts';
import { quotaGuarded, quotaSink } from './quota.ts';

export type { InstallOptions, StorageFacts } from './install-session.ts';

/**
 * Installs (or resumes installing) a model. Resolves with the listed model; an already installed model is
 * returned at once.
 */
export async function installModel(descriptor: ModelDescriptor, options: InstallOptions = {}): Promise<InstalledModel> {
  if (descriptor.source.kind === 'package') return installPackage(descriptor, descriptor.source, options);
  const source = descriptor.source;
  const precision = options.precision ?? 'fp16';
  const modelId = modelIdFor(descriptor, precision);
  const existing = await getModel(modelId);
  if (existing) return existing;

  let record = await get<InstallRecord>(modelId, stores().installs);
  if (!record || record.precision !== precision) {
    record = { modelId, descriptor, precision, converted: {}, tokenizer: [], startedAt: Date.now() };
  }
  const files = checkpointJobs(source);
  const todo = filesToDo(files, record);
  // The session holds a listener on the caller's signal from here until run() ends: nothing may throw between.
  const session = new InstallSession(modelId, options, treeLookup(source, files.checkerPaths, files.otherRepos));
  return session.run([...files.model, ...files.checker], async () => {
    // 1. Plan + quota.
    const { needed, unstarted } = await plan(session.download, todo, record, descriptor, precision);
    // "Writes nothing": planning stored a download record per file; a refusal drops those with no slice behind
    // them (records of partly downloaded files stay, so their slices still resume once space is freed).
    await session.checkQuota(needed, async () => {
      for (const key of unstarted) await discardDownload(key);
    });
    await session.putRecord(record);

    // 2. Download everything; convert each role as soon as its files are verified.
    const sink = quotaSink(idbPackageSink(modelId));
    await downloadAndConvert(session, todo, record, { source, precision, sink, checkerPaths: files.checkerPaths });

    // 3. Manifest last, then the commit record.
    return session.commit(descriptor, await writeInstalledManifest(sink, descriptor, source, record));
  });
}

interface CheckpointJobs {
  /** The model repo's files (networks and tokenizer), in descriptor order. */
  model: FileJob[];
  /** The safety checker's files, from its own repo. */
  checker: FileJob[];
  /** Repo path of each safety checker job, by job key (their `path` is qualified with the repo for messages). */
  checkerPaths: Map<string, string>;
  /** Model files fetched from another repo than the source's (descriptor `from`), by job key. */
  otherRepos: Map<string, HubRepo>;
}

function fileJob(repo: HubRepo, path: string, role: FileJob['role'], f: { size?: number; sha256?: string }, shownPath = path): FileJob {
  return {
    key: `${repo.repo}@${repo.revision}/${path}`,
    url: resolveUrl(repo, path),
    path: shownPath,
    role,
    ...(f.size !== undefined ? { size: f.size } : {}),
    ...(f.sha256 ? { expected: { algorithm: 'sha256' as const, hex: f.sha256, from: 'descriptor' } } : {}),
  };
}

function checkpointJobs(source: CheckpointSource): CheckpointJobs {
  const checker = source.safetyChecker;
  const checkerRepo: HubRepo | undefined = checker && { hub: source.hub, repo: checker.repo, revision: checker.revision };
  const checkerPaths = new Map<string, string>();
  const checkerJobs = checker && checkerRepo
    ? checker.files.map((f) => {
      const job = fileJob(checkerRepo, f.path, 'safety_checker', f, `${checker.repo}/${f.path}`);
      checkerPaths.set(job.key, f.path);
      return job;
    })
    : [];
  const otherRepos = new Map<string, HubRepo>();
  const model = source.files.map((f) => {
    const job = fileJob(fileRepo(source, f), f.path, f.role, f);
    if (f.from) otherRepos.set(job.key, fileRepo(source, f));
    return job;
  });
  return { model, checker: checkerJobs, checkerPaths, otherRepos };
}

/** What a resume still has to download: files of components, tokenizer files and a checker not yet stored. */
function filesToDo(files: CheckpointJobs, record: InstallRecord): FileJob[] {
  const doneTokenizer = new Set(record.tokenizer.map((t) => t.path));
  return [
    ...files.model.filter((j) => (j.role === 'tokenizer' ? !doneTokenizer.has(`tokenizer/${baseName(j.path)}`) : !record.converted[j.role as ModelKind])),
    ...(record.safetyChecker ? [] : files.checker),
  ];
}

/** Digests the descriptor lacks come from the hub tree API of the repo each file is fetched from. */
function treeLookup(source: CheckpointSource, checkerPaths: ReadonlyMap<string, string>, otherRepos: ReadonlyMap<string, HubRepo>): SessionSource {
  const checker = source.safetyChecker;
  const trees = new Map<string, Promise<Map<string, HubFileInfo>>>();
  const tree = (repo: HubRepo, ctx: DownloadContext) => {
    const key = `${repo.repo}@${repo.revision}`;
    let t = trees.get(key);
    if (!t) trees.set(key, (t = hubTree(repo, (url) => tokenHeaders(ctx, url), ctx.fetch, ctx.signal)));
    return t;
  };
  return {
    tokenOrigin: new URL(source.hub).origin,
    lookupDigest: async (job, ctx) => {
      const checkerPath = checkerPaths.get(job.key);
      if (checkerPath !== undefined && checker) return (await tree({ hub: source.hub, repo: checker.repo, revision: checker.revision }, ctx)).get(checkerPath) ?? {};
      return (await tree(otherRepos.get(job.key) ?? source, ctx)).get(job.path) ?? {};
    },
  };
}

/**
 * Size of every file still to download (a download record each) and the bytes the install still needs:
 * the rest of the downloads, the package minus components already converted, and the checker (stored as
 * converted, fp32 ONNX ≈ its fp32 safetensors, on top of the networks' `sizes`).
 */
async function plan(ctx: DownloadContext, todo: FileJob[], record: InstallRecord, descriptor: ModelDescriptor, precision: Precision): Promise<{ needed: number; unstarted: string[] }> {
  /** Download keys with nothing stored yet. */
  const unstarted: string[] = [];
  let remaining = 0;
  let downloadTotal = 0;
  let checkerTotal = 0;
  for (const job of todo) {
    const r = await prepareDownload(ctx, job);
    if (job.role === 'safety_checker') checkerTotal += r.size;
    else downloadTotal += r.size;
    const stored = await storedBytes(job, r);
    if (stored === 0) unstarted.push(job.key);
    remaining += r.size - stored;
    ctx.overall.set(job.key, stored, r.size);
  }
  const convertedBytes = Object.values(record.converted).reduce((a, c) => a + (c ? componentBytes(c) : 0), 0);
  const packageBytes = descriptor.sizes[precision] ?? estimatePackageBytes(downloadTotal, precision);
  return { needed: remaining + Math.max(0, packageBytes - convertedBytes) + checkerTotal, unstarted };
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

interface ConversionTarget {
  source: CheckpointSource;
  precision: Precision;
  sink: PackageSink;
  checkerPaths: ReadonlyMap<string, string>;
}

/**
 * Downloads every file through the session's limiter and, as soon as all files of a role are verified,
 * converts that role (one conversion at a time) while the rest keeps downloading; each finished part is noted
 * in the install record and its raw slices are deleted. The first failure stops everything and is thrown.
 */
async function downloadAndConvert(session: InstallSession, todo: FileJob[], record: InstallRecord, target: ConversionTarget): Promise<void> {
  const { modelId, signal } = session;
  const converting = new SerialQueue();
  let firstError: unknown;
  const fail = (e: unknown) => {
    firstError ??= e;
    session.fail(e);
  };
  /** Downloads `jobs`, then runs `store` in the conversion queue and drops their slices. */
  const whenDownloaded = (jobs: FileJob[], store: (blobs: Blob[]) => Promise<void>) => Promise.all(jobs.map((j) => session.downloadFile(j)))
    .then((blobs) => converting.run(async () => {
      await store(blobs);
      for (const j of jobs) await discardDownload(j.key); // raw slices are not needed any more
    }))
    .catch(fail);

  const tasks = todo.filter((j) => j.role === 'tokenizer').map((job) => whenDownloaded([job], async ([blob]) => {
    const path = `tokenizer/${baseName(job.path)}`;
    await quotaGuarded(() => writeBlobFile(modelId, path, blob));
    record.tokenizer.push({ path, bytes: blob.size, sha256: await sha256OfBlob(blob) });
    await session.putRecord(record);
  }));
  const checker = target.source.safetyChecker;
  const checkerJobs = todo.filter((j) => j.role === 'safety_checker');
  if (checker && checkerJobs.length) {
    tasks.push(whenDownloaded(checkerJobs, async (blobs) => {
      signal.throwIfAborted();
      const inputs = checkerJobs.map((j, i) => ({ path: target.checkerPaths.get(j.key)!, blob: blobs[i] }));
      const converted = await convertSafetyChecker(checker, inputs, target.sink, session.emit, signal);
      record.safetyChecker = converted;
      await session.putRecord(record);
      session.emit({ type: 'component-done', kind: 'safety_checker', bytes: converted.files.reduce((a, f) => a + f.bytes, 0) });
    }));
  }
  for (const role of CHECKPOINT_ROLES) {
    const roleJobs = todo.filter((j) => j.role === role);
    if (!roleJobs.length) continue;
    tasks.push(whenDownloaded(roleJobs, async (blobs) => {
      signal.throwIfAborted();
      const inputs = roleJobs.map((j, i) => ({ name: j.path, blob: blobs[i] }));
      const comp = await convertComponent(role, inputs, target.source, target.precision, target.sink, session.emit, signal);
      record.converted[role] = comp;
      await session.putRecord(record);
      session.emit({ type: 'component-done', kind: role, bytes: componentBytes(comp) });
    }));
  }
  await Promise.all(tasks);
  if (firstError !== undefined) throw firstError;
  signal.throwIfAborted();
}

function writeInstalledManifest(sink: PackageSink, descriptor: ModelDescriptor, source: CheckpointSource, record: InstallRecord): Promise<PackageManifest> {
  const checker = source.safetyChecker;
  return writeManifest(sink, {
    name: descriptor.name,
    precision: record.precision,
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
}
