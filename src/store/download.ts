/**
 * Resumable, verified file downloads into IndexedDB.
 *
 * A file is fetched as Range slices (slices.ts) through a shared limiter (bounded parallelism across every
 * file of an install), each slice retried with back-off (retry.ts) and stored as one Blob under
 * [fileKey, index] (idb.ts) — the Blob the response produced, which Chromium keeps on disk. A reload, a closed
 * tab or a dropped network loses at most the slices in flight: a resume lists the stored slice keys and
 * fetches only the others. The sha256 advances in file order as slices land and its state is persisted with
 * the frontier (hashing.ts), so a resume never re-hashes either.
 *
 * Token rule: the Authorization header is added only to requests whose URL is on the hub's origin. The hub
 * redirects LFS files to a CDN; the browser follows that redirect itself and, per the Fetch standard
 * (whatwg/fetch#1544, "remove Authorization on cross-origin redirect"), drops the header there — we never
 * attach it to any other URL ourselves.
 */
import { del, get, set } from 'idb-keyval';
import type { DownloadRole } from './descriptor.ts';
import { DownloadError, IntegrityError } from './errors.ts';
import { ResumableHash } from './hashing.ts';
import { digestFromHeaders } from './hub-api.ts';
import { deleteWithPrefix, keysWithPrefix, stores, type DownloadRecord, type ExpectedDigest } from './idb.ts';
import { RateMeter, type ByteProgress } from './progress.ts';
import { quotaGuarded } from './quota.ts';
import { isRetryableStatus } from '../core/retryable-status.ts';
import { DEFAULT_RETRY, PermanentError, withRetry, type RetryPolicy } from './retry.ts';
import { parseContentRange, planSlices, rangeHeader, type Slice } from './slices.ts';

/** A counting semaphore: at most `limit` tasks run at once, the rest wait in FIFO order. */
export class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`parallelism must be ≥ 1 (got ${limit})`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((ok) => this.queue.push(ok));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}

export interface DownloadContext {
  limiter: Limiter;
  sliceBytes: number;
  retry: RetryPolicy;
  /** Authorization token; sent only to `tokenOrigin`. */
  token?: string;
  tokenOrigin: string;
  signal: AbortSignal;
  fetch: typeof fetch;
  /** Resolves a digest when neither the job nor the response headers give one (the tree API of the job's repo). */
  lookupDigest: (job: FileJob) => Promise<{ size?: number; expected?: ExpectedDigest }>;
  onRetry?: (file: string, attempt: number, delayMs: number, reason: string) => void;
  overall: OverallProgress;
}

export interface FileJob {
  /** Stable identity of the bytes: the resolve URL at a pinned revision (never includes the token). */
  key: string;
  url: string;
  /** Repo path (for the tree API lookup and messages; safety checker files are qualified with their repo). */
  path: string;
  role: DownloadRole;
  size?: number;
  expected?: ExpectedDigest;
}

/** Aggregates bytes over all files of an install for the overall ETA. */
export class OverallProgress {
  private readonly perFile = new Map<string, { done: number; total: number | undefined }>();
  private readonly meter = new RateMeter();

  /** Files are registered while planning, so the total covers files that have not started yet. */
  set(key: string, done: number, total: number | undefined): ByteProgress {
    this.perFile.set(key, { done, total });
    const all = [...this.perFile.values()];
    const doneSum = all.reduce((a, f) => a + f.done, 0);
    const sum = all.every((f) => f.total !== undefined) ? all.reduce((a, f) => a + (f.total ?? 0), 0) : undefined;
    this.meter.add(doneSum);
    return this.meter.progress(doneSum, sum);
  }
}

export type FileProgressListener = (file: FileJob, fileProgress: ByteProgress, overall: ByteProgress, resumedBytes: number) => void;
export type VerifyListener = (file: FileJob, expected: ExpectedDigest, ok: boolean) => void;

/** `extra` plus the Authorization header when `url` is on the token's origin (the token rule above). */
export function tokenHeaders(ctx: Pick<DownloadContext, 'token' | 'tokenOrigin'>, url: string, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (ctx.token && new URL(url).origin === ctx.tokenOrigin) h.Authorization = `Bearer ${ctx.token}`;
  return h;
}

/** One Range GET; classifies failures into retryable (thrown as is) and permanent (PermanentError). */
async function fetchRange(ctx: DownloadContext, job: FileJob, slice: Slice, expectTotal: number | undefined): Promise<{ res: Response; total: number | undefined }> {
  let res: Response;
  try {
    res = await ctx.fetch(job.url, { headers: tokenHeaders(ctx, job.url, { Range: rangeHeader(slice) }), signal: ctx.signal, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    throw new DownloadError(job.url, `network error (${(e as Error).message})`, true, { cause: e });
  }
  if (res.status !== 206) {
    await res.body?.cancel().catch(() => undefined);
    const reason = res.status === 200 ? 'the server ignored the Range header (HTTP 200), so the file cannot be fetched in resumable slices' : `HTTP ${res.status} ${res.statusText}`;
    const err = new DownloadError(job.url, reason, isRetryableStatus(res.status));
    throw isRetryableStatus(res.status) ? err : new PermanentError(err);
  }
  const cr = parseContentRange(res.headers.get('Content-Range'));
  if (!cr || cr.start !== slice.start || cr.end !== slice.end || (expectTotal !== undefined && cr.total !== undefined && cr.total !== expectTotal)) {
    await res.body?.cancel().catch(() => undefined);
    throw new PermanentError(new DownloadError(job.url, `the server answered bytes ${res.headers.get('Content-Range') ?? '(no Content-Range)'} to ${rangeHeader(slice)}${expectTotal !== undefined ? ` of ${expectTotal}` : ''} (the file changed or the server is not serving this revision)`, false));
  }
  return { res, total: cr.total };
}

/** Size + expected digest of a file, from the job, a `bytes=0-0` probe's headers, or the tree API. */
async function plan(ctx: DownloadContext, job: FileJob): Promise<{ size: number; expected: ExpectedDigest }> {
  let size = job.size;
  let expected = job.expected;
  if (size === undefined || expected === undefined) {
    const probe = await ctx.limiter.run(() => withRetry(async () => {
      const { res, total } = await fetchRange(ctx, job, { index: 0, start: 0, end: 1 }, job.size);
      await res.arrayBuffer();
      return { total, headerDigest: digestFromHeaders(res.headers) };
    }, ctx.retry, { signal: ctx.signal, onRetry: (a, d, e) => ctx.onRetry?.(job.path, a, d, (e as Error).message) }));
    size ??= probe.total;
    expected ??= probe.headerDigest;
  }
  if (size === undefined || expected === undefined) {
    const info = await ctx.lookupDigest(job);
    size ??= info.size;
    expected ??= info.expected;
  }
  if (size === undefined) throw new DownloadError(job.url, 'the server gave no file size (no Content-Range total) and the descriptor has none', false);
  if (expected === undefined) {
    throw new DownloadError(job.url, 'no sha256 is known for this file (not in the descriptor, not in the response headers, not in the hub tree API), so it cannot be verified', false);
  }
  return { size, expected };
}

function putSafe(key: IDBValidKey, value: unknown, store: ReturnType<typeof stores>[keyof ReturnType<typeof stores>]): Promise<void> {
  return quotaGuarded(() => set(key, value, store));
}

/** Removes every stored byte of a file download (slices + record). */
export async function discardDownload(key: string): Promise<void> {
  const s = stores();
  await deleteWithPrefix(s.slices, [key]);
  await del(key, s.downloads);
}

async function sliceBlob(key: string, index: number): Promise<Blob> {
  const b = await get<Blob>([key, index], stores().slices);
  if (!b) throw new Error(`slice ${index} of ${key} vanished from IndexedDB`);
  return b;
}

/**
 * The download record of a file: the stored one (resume), or a new one after learning the size and expected
 * digest. The key names the bytes (repo, revision, path), not the URL: the same pinned file from a mirror
 * resumes what another hub started — the digest check makes that safe.
 */
export async function prepareDownload(ctx: DownloadContext, job: FileJob): Promise<DownloadRecord> {
  const s = stores();
  let record = await get<DownloadRecord>(job.key, s.downloads);
  if (record && ((job.size !== undefined && record.size !== job.size) || (job.expected && record.expected?.hex !== job.expected.hex))) {
    await discardDownload(job.key); // a different file under the same key: start over
    record = undefined;
  }
  if (record && record.url !== job.url) record = { ...record, url: job.url };
  if (!record) {
    const { size, expected } = await plan(ctx, job);
    record = { url: job.url, size, sliceBytes: ctx.sliceBytes, expected, verified: false };
    await putSafe(job.key, record, s.downloads);
  }
  return record;
}

/** Bytes of a file already stored as slices. */
export async function storedBytes(job: FileJob, record: DownloadRecord): Promise<number> {
  if (record.verified) return record.size;
  const slices = planSlices(record.size, record.sliceBytes);
  const keys = await keysWithPrefix(stores().slices, [job.key]);
  let bytes = 0;
  for (const k of keys) {
    const i = Number((k as IDBValidKey[])[1]);
    if (i < slices.length) bytes += slices[i].end - slices[i].start;
  }
  return bytes;
}

/**
 * Downloads (or resumes) one file and verifies it. Resolves with the whole file as a Blob made of the stored
 * slice Blobs (no copy). On a digest mismatch the file's slices are deleted and IntegrityError thrown.
 */
export async function downloadFile(ctx: DownloadContext, job: FileJob, onProgress: FileProgressListener, onVerify: VerifyListener): Promise<Blob> {
  const s = stores();
  const rec = await prepareDownload(ctx, job);
  const expected = rec.expected!;
  // The record's slice size wins over the current option: stored slices are only valid under their own plan.
  const slices = planSlices(rec.size, rec.sliceBytes);
  const have = new Set((await keysWithPrefix(s.slices, [job.key])).map((k) => Number((k as IDBValidKey[])[1])));
  const sliceLen = (i: number) => slices[i].end - slices[i].start;
  let done = [...have].reduce((a, i) => a + (i < slices.length ? sliceLen(i) : 0), 0);
  const resumedBytes = done;
  const meter = new RateMeter();
  const report = () => {
    meter.add(done);
    onProgress(job, meter.progress(done, rec.size), ctx.overall.set(job.key, done, rec.size), resumedBytes);
  };
  report();

  // Hashing frontier: consumes stored slices in order, one at a time (hashChain serializes it).
  const hasher = rec.hash && rec.hash.algorithm === expected.algorithm ? await ResumableHash.resume(rec.hash) : await ResumableHash.start(expected.algorithm, rec.size);
  let hashChain: Promise<void> = Promise.resolve();
  const advanceHash = () => {
    hashChain = hashChain.then(async () => {
      let moved = false;
      while (hasher.slices < slices.length && have.has(hasher.slices)) {
        hasher.update(new Uint8Array(await (await sliceBlob(job.key, hasher.slices)).arrayBuffer()));
        moved = true;
      }
      if (moved && hasher.slices < slices.length) {
        rec.hash = hasher.save();
        await putSafe(job.key, rec, s.downloads);
      }
    });
    hashChain.catch(() => undefined); // observed here; the final `await advanceHash()` rethrows
    return hashChain;
  };

  if (!rec.verified) {
    const fetchSlice = (slice: Slice) => ctx.limiter.run(() => withRetry(async () => {
      const { res } = await fetchRange(ctx, job, slice, rec.size);
      let blob: Blob;
      try {
        blob = await res.blob();
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        throw new DownloadError(job.url, `connection lost during bytes ${slice.start}–${slice.end - 1} (${(e as Error).message})`, true, { cause: e });
      }
      if (blob.size !== slice.end - slice.start) {
        throw new DownloadError(job.url, `received ${blob.size} of ${slice.end - slice.start} bytes for ${rangeHeader(slice)}`, true);
      }
      await putSafe([job.key, slice.index], blob, s.slices); // the slice is "done" exactly when this put lands
      have.add(slice.index);
      done += blob.size;
      report();
      void advanceHash();
    }, ctx.retry, { signal: ctx.signal, onRetry: (a, d, e) => ctx.onRetry?.(job.path, a, d, (e as Error).message) }));

    const pending = slices.filter((x) => !have.has(x.index));
    const results = await Promise.allSettled(pending.map(fetchSlice));
    await advanceHash().catch(() => undefined);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await advanceHash();
    const actual = hasher.hashedBytes === rec.size ? hasher.digest() : `(hashed ${hasher.hashedBytes} of ${rec.size} bytes)`;
    const ok = actual === expected.hex;
    onVerify(job, expected, ok);
    if (!ok) {
      await discardDownload(job.key);
      throw new IntegrityError(job.path, expected.hex, actual, expected.algorithm);
    }
    rec.verified = true;
    delete rec.hash;
    await putSafe(job.key, rec, s.downloads);
  }
  const parts: Blob[] = [];
  for (const slice of slices) parts.push(await sliceBlob(job.key, slice.index));
  return new Blob(parts);
}
