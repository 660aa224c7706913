/**
 * Browser storage limits as the store meets them: the estimate checked before an install or import writes, and
 * the QuotaExceededError that IndexedDB raises when a write does not fit.
 *
 * Every store write that can hit the quota goes through `quotaGuarded` (or a `quotaSink`), which marks the
 * failure as a QuotaHit; the install session (install-session.ts) then deletes what the install wrote and
 * reports StorageQuotaError. Other errors pass through unchanged.
 */
import type { PackageSink } from '../models/model-package.ts';
import { StorageQuotaError } from './errors.ts';

/**
 * A DOMException QuotaExceededError, or one of Chromium's "UnknownError … quota" variants that IndexedDB raises
 * for the same condition.
 */
export function isQuotaError(e: unknown): boolean {
  if (!(e instanceof Error) && !(typeof DOMException !== 'undefined' && e instanceof DOMException)) return false;
  const err = e as { name?: string; message?: string };
  return err.name === 'QuotaExceededError' || /quota/i.test(err.message ?? '');
}

/** A quota failure while writing IndexedDB, marked where it happened; `cause` is the browser's error. */
export class QuotaHit extends Error {
  constructor(override readonly cause: unknown) {
    super(`storage quota exceeded (${(cause as Error)?.message ?? String(cause)})`);
    this.name = 'QuotaHit';
  }
}

/** Runs a store write; a quota failure comes out as QuotaHit, anything else unchanged. */
export async function quotaGuarded<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw isQuotaError(e) ? new QuotaHit(e) : e;
  }
}

/** The same sink, its quota failures marked as QuotaHit. */
export function quotaSink(inner: PackageSink): PackageSink {
  return { write: (path, bytes) => quotaGuarded(() => inner.write(path, bytes)) };
}

export interface StorageFacts {
  usage: number;
  quota: number;
}

/** navigator.storage.estimate(); no Storage API (Node, old browsers) means no known limit. */
export async function estimateStorage(): Promise<StorageFacts> {
  const e = await globalThis.navigator?.storage?.estimate?.();
  return { usage: e?.usage ?? 0, quota: e?.quota ?? Number.POSITIVE_INFINITY };
}

/**
 * Chromium reports `quota = usage + 10 GiB` (platform-notes: 10,737,418,240 with nothing stored, then moving up as
 * data is added) and enforces the real, disk-sized limit per write. That window says nothing about whether a
 * 15 GiB install fits, so a refusal before writing must not rest on it: such an install starts, and a real
 * QuotaExceededError during the writes is still caught and cleaned up (QuotaHit). Measured by `npm run scale`
 * with the full-size fixture (Chromium 156 refused SoteDiffusion V2 int4, 15.1 GiB, with "10.00 GiB is free").
 */
export function isRollingQuotaWindow(facts: StorageFacts): boolean {
  return Math.abs(facts.quota - facts.usage - 10 * 2 ** 30) < 2 ** 20;
}

/** StorageQuotaError for an install or import that needs `needed` bytes, with the storage facts of `facts`. */
export function quotaError(needed: number, facts: StorageFacts, when: 'before' | 'during', cause?: unknown): StorageQuotaError {
  const free = Math.max(0, facts.quota - facts.usage);
  return new StorageQuotaError(needed, free, facts.usage, facts.quota, when, cause === undefined ? undefined : { cause });
}

/** A StorageQuotaError for a write that failed (QuotaHit or a raw quota error), with fresh storage facts. */
export async function quotaErrorAfter(e: unknown, needed: number): Promise<StorageQuotaError> {
  return quotaError(needed, await estimateStorage(), 'during', e instanceof QuotaHit ? e.cause : e);
}

/** True for a quota failure of a write (marked or not), false for the refusal before writing. */
export function isQuotaFailure(e: unknown): boolean {
  return e instanceof QuotaHit || (isQuotaError(e) && !(e instanceof StorageQuotaError));
}
