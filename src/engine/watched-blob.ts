/**
 * External-data Blobs as onnxruntime-web reads them, with a byte count and a deadline on every read.
 *
 * onnxruntime-web's JSPI build reads each initializer as `blob.slice(offset, offset + length).stream()` while
 * it builds a session (ort-web-loader.ts). At full size, session creations from IndexedDB-stored Blobs were seen
 * to stop for good with the worker idle: a read that never settles leaves the whole session pending, and nothing
 * tells the user why. A watched Blob turns that into something observable and recoverable:
 * - every underlying read has a deadline (`stallMs`); a read that misses it is cancelled and the slice is
 *   reopened at the byte it had reached. A Blob is immutable, so the reopened read yields the same bytes;
 * - after `reopenLimit` reopenings of one slice the stream errors with StoredReadStalledError, which
 *   onnxruntime turns into a failed session creation (a clear error instead of a hang);
 * - every delivered byte is counted (`onBytes`), so a loader can show progress and say where a load stopped.
 *
 * Invariants: the watched Blob has the source's size and bytes (it is `new Blob([source])`, which copies
 * nothing); `arrayBuffer()` (the asyncify build's path) is the native one, unwatched. The stream is a default
 * (not byte) stream: onnxruntime-web asks for a BYOB reader first and falls back to a default reader when the
 * stream has none.
 */
import { registerErrorClasses, SoteError } from '../core/sote-error.ts';

export interface BlobReadWatch {
  /** Longest wait for one chunk of an underlying read before it counts as stalled (ms). */
  stallMs: number;
  /** Reopenings allowed per slice read before it fails. */
  reopenLimit: number;
  /** Called with each chunk's byte count as it is delivered. */
  onBytes?(bytes: number): void;
  /** Called when a read stalled and is reopened (`attempt` counts from 1). */
  onStall?(stall: { offset: number; size: number; attempt: number }): void;
  /**
   * Called with the error a stream ends with when its reopenings are used up. onnxruntime-web catches a failed
   * read and fails the session with its own generic error, so the caller keeps this one to throw instead.
   */
  onGiveUp?(error: StoredReadStalledError): void;
}

/** A stored file kept delivering no bytes through every reopening: the session could not be built from it. */
export class StoredReadStalledError extends SoteError {
  override readonly name = 'StoredReadStalledError';
  constructor(readonly offset: number, readonly size: number, readonly stallMs: number, readonly attempts: number) {
    super(`reading the stored model stopped at byte ${offset} of a ${size}-byte slice: no data for ${(stallMs / 1000).toFixed(0)} s, ${attempts} times`,
      'reload the page and load the model again; if it keeps stopping at the same place, run Re-verify in the Models panel (the stored files may be damaged) or reinstall the model',
      { offset, size, stallMs, attempts });
  }
}
registerErrorClasses({ StoredReadStalledError });

const STALLED = Symbol('stalled');

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | typeof STALLED> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof STALLED>((resolve) => {
    timer = setTimeout(() => resolve(STALLED), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The bytes of `source` as a stream whose reads have a deadline and are reopened where they stalled. */
export function watchedStream(source: Blob, watch: BlobReadWatch): ReadableStream<Uint8Array> {
  let offset = 0;
  let reopens = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        reader ??= (offset === 0 ? source : source.slice(offset)).stream().getReader();
        const r = await withDeadline(reader.read(), watch.stallMs);
        if (r !== STALLED) {
          if (r.done) {
            controller.close();
            return;
          }
          offset += r.value.byteLength;
          watch.onBytes?.(r.value.byteLength);
          controller.enqueue(r.value);
          return;
        }
        // The stalled read may still settle later: its reader is cancelled so nothing of it is delivered.
        reader.cancel().catch(() => undefined);
        reader = undefined;
        if (reopens === watch.reopenLimit) {
          const error = new StoredReadStalledError(offset, source.size, watch.stallMs, reopens + 1);
          watch.onGiveUp?.(error);
          controller.error(error);
          return;
        }
        reopens++;
        watch.onStall?.({ offset, size: source.size, attempt: reopens });
      }
    },
    cancel(reason) {
      return reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

class WatchedBlob extends Blob {
  readonly #source: Blob;
  readonly #watch: BlobReadWatch;

  constructor(source: Blob, watch: BlobReadWatch) {
    super([source], { type: source.type });
    this.#source = source;
    this.#watch = watch;
  }

  override slice(start?: number, end?: number, contentType?: string): Blob {
    return new WatchedBlob(this.#source.slice(start, end, contentType), this.#watch);
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return watchedStream(this.#source, this.#watch) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

/** `source` with watched reads: same size and bytes; slices and streams of it are watched too. */
export function watchBlob(source: Blob, watch: BlobReadWatch): Blob {
  return new WatchedBlob(source, watch);
}
