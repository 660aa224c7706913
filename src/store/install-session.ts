/**
 * What every install shares, whatever it installs (checkpoints converted on the way, install.ts; a converted
 * package copied as is, install-package.ts): one abort signal linked to the caller's, the download context,
 * the quota check before writing, the progress events, the install record, the commit, and the failure policy.
 *
 * Failure policy (`run`): a quota error anywhere deletes everything this install wrote (package files, install
 * record, downloaded slices) and becomes StorageQuotaError; the refusal before writing is passed on as is; a
 * caller's abort or a resumable DownloadError keeps everything, so installing again resumes; any other failure
 * (IntegrityError — whose bad slices are already gone —, conversion errors, permanent HTTP errors) drops the
 * partial package but keeps the verified downloads. Whatever happens, the listener on the caller's signal is
 * removed when `run` ends.
 */
import { del, set } from 'idb-keyval';
import type { Precision } from '../models/model-context.ts';
import type { PackageManifest } from '../models/model-package.ts';
import type { ModelDescriptor } from './descriptor.ts';
import { discardDownload, downloadFile, Limiter, OverallProgress, type DownloadContext, type FileJob } from './download.ts';
import { DownloadError, StorageQuotaError } from './errors.ts';
import { deleteWithPrefix, stores, type ExpectedDigest, type InstalledModel, type InstallRecord } from './idb.ts';
import { commitModel } from './package-store.ts';
import type { InstallEvent, InstallListener } from './progress.ts';
import { estimateStorage, isQuotaFailure, isRollingQuotaWindow, quotaError, quotaErrorAfter, quotaGuarded, type StorageFacts } from './quota.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
import { DEFAULT_SLICE_BYTES } from './slices.ts';

export type { StorageFacts } from './quota.ts';

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

/** Where the session's files come from, as far as downloading them goes. */
export interface SessionSource {
  /** The only origin the token is sent to ('null' for none). */
  tokenOrigin: string;
  /** Size and digest of a file that neither its job nor the response headers describe (`ctx`: the session's). */
  lookupDigest: (job: FileJob, ctx: DownloadContext) => Promise<{ size?: number; expected?: ExpectedDigest }>;
}

/**
 * One install of one model id. The constructor starts following the caller's signal and `run` stops it, so a
 * session is created right before its `run`.
 */
export class InstallSession {
  readonly emit: (e: InstallEvent) => void;
  readonly download: DownloadContext;
  /** Bytes the install still has to write (set by the quota check; reported by a later quota failure). */
  private needed = 0;
  private readonly abortController = new AbortController();
  private readonly onCallerAbort: () => void;

  constructor(readonly modelId: string, private readonly options: InstallOptions, source: SessionSource) {
    this.emit = (e) => options.onEvent?.(e);
    const caller = options.signal;
    this.onCallerAbort = () => this.abortController.abort(caller!.reason);
    caller?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (caller?.aborted) this.abortController.abort(caller.reason);
    const signal = this.abortController.signal;
    this.download = {
      limiter: new Limiter(options.parallel ?? 4),
      sliceBytes: options.sliceBytes ?? DEFAULT_SLICE_BYTES,
      retry: options.retry ?? DEFAULT_RETRY,
      token: options.token,
      tokenOrigin: source.tokenOrigin,
      signal,
      fetch: this.fetch,
      lookupDigest: (job) => source.lookupDigest(job, this.download),
      onRetry: (file, attempt, delayMs, reason) => this.emit({ type: 'download-retry', file, attempt, delayMs, reason }),
      overall: new OverallProgress(),
    };
  }

  /** Aborted by the caller, or by `fail` (the first failure stops every other download). */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  get fetch(): typeof fetch {
    return this.options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  fail(e: unknown): void {
    if (!this.signal.aborted) this.abortController.abort(e);
  }

  /**
   * Emits the 'quota' event (asking for persistent storage on the way: without it multi-GB data is evictable
   * under pressure) and refuses with StorageQuotaError when the free space is below `needed`. Nothing may have
   * been written before; `beforeRefusal` removes what planning recorded.
   */
  async checkQuota(needed: number, beforeRefusal?: () => Promise<void>): Promise<void> {
    this.needed = needed;
    const facts = await (this.options.estimate ?? estimateStorage)();
    const persisted = (await globalThis.navigator?.storage?.persist?.().catch(() => false)) ?? false;
    this.emit({ type: 'quota', needed, usage: facts.usage, quota: facts.quota, persisted });
    if ((this.options.checkQuota ?? true) && facts.quota - facts.usage < needed && !isRollingQuotaWindow(facts)) {
      await beforeRefusal?.();
      throw quotaError(needed, facts, 'before');
    }
  }

  /** Downloads (or resumes) and verifies one file, with 'download' and 'verify' events. */
  downloadFile(job: FileJob): Promise<Blob> {
    return downloadFile(this.download, job,
      (j, fileProgress, overall, resumedBytes) => this.emit({ type: 'download', file: j.path, role: j.role, fileProgress, overall, resumedBytes }),
      (j, expected, ok) => this.emit({ type: 'verify', file: j.path, algorithm: expected.algorithm, expected: expected.hex, ok }));
  }

  /** Saves the install record (what a resume keeps). */
  putRecord(record: InstallRecord): Promise<void> {
    return quotaGuarded(() => set(record.modelId, record, stores().installs));
  }

  /** The commit point, after every package file and the manifest: the model is listed, the record dropped. */
  async commit(descriptor: ModelDescriptor, manifest: PackageManifest): Promise<InstalledModel> {
    const installed = await quotaGuarded(() => commitModel(this.modelId, descriptor, manifest));
    await del(this.modelId, stores().installs);
    this.emit({ type: 'installed', id: this.modelId, bytes: manifest.totalBytes });
    return installed;
  }

  /**
   * Runs the install and applies the failure policy (module comment) to what it throws. `downloads` are every
   * file the install may have stored slices of (a quota failure discards them all).
   */
  async run<T>(downloads: readonly FileJob[], install: () => Promise<T>): Promise<T> {
    try {
      return await install();
    } catch (e) {
      throw await this.settle(e, downloads);
    } finally {
      this.options.signal?.removeEventListener('abort', this.onCallerAbort);
    }
  }

  private async settle(e: unknown, downloads: readonly FileJob[]): Promise<unknown> {
    if (isQuotaFailure(e)) {
      await this.deletePackage();
      for (const job of downloads) await discardDownload(job.key);
      return quotaErrorAfter(e, this.needed);
    }
    if (e instanceof StorageQuotaError) return e; // the refusal before anything was written
    if (this.options.signal?.aborted || (e instanceof DownloadError && e.resumable)) return e; // resumable: keep everything
    await this.deletePackage();
    return e;
  }

  private async deletePackage(): Promise<void> {
    await del(this.modelId, stores().installs);
    await deleteWithPrefix(stores().files, [this.modelId]);
  }
}
