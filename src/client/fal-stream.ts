/**
 * `SoteStream`: what `fal.stream` and `fal.queue.streamStatus` return, shaped like the hosted client's FalStream —
 * iterate it with `for await`, or listen with `on('data' | 'error' | 'done')`; `done()` resolves with the final
 * value; `abort()` ends it; `requestId` names the request.
 *
 * Invariants:
 * - every event is delivered to every `on('data')` listener and to every iterator started before it was emitted
 *   (an iterator started later sees the events still buffered for iteration: events emitted before anyone
 *   iterated are buffered, as the hosted stream buffers them);
 * - exactly one of 'done' / 'error' ends the stream; nothing is emitted after it; iteration then finishes
 *   (quietly, as the hosted stream's does: the error reaches `on('error')` and `done()`);
 * - `abort()` before the end runs the owner's abort action (cancelling the request, or only stopping the status
 *   updates), emits no 'error', and `done()` rejects with the abort reason (the hosted stream resolves with its
 *   last chunk instead; here the last chunk is not a result, so that would hand a non-result to the caller).
 */

export type SoteStreamEventType = 'data' | 'error' | 'done';

type Listener = (value: never) => void;

export class SoteStream<Event, Final> {
  private readonly listeners: Record<SoteStreamEventType, ((value: never) => void)[]> = { data: [], error: [], done: [] };
  /** Events not yet taken by an iterator. */
  private readonly buffer: Event[] = [];
  private wake: (() => void) | undefined;
  private ended: { ok: true; value: Final } | { ok: false; error: unknown } | undefined;
  private readonly controller = new AbortController();
  private readonly donePromise: Promise<Final>;
  private resolveDone!: (value: Final) => void;
  private rejectDone!: (error: unknown) => void;

  /**
   * @param requestId the request this stream is about
   * @param onAbort what abort() does before the stream ends (given the reason)
   */
  constructor(readonly requestId: string, private readonly onAbort: (reason: unknown) => void) {
    this.donePromise = new Promise<Final>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A caller using only on() or only iteration must not see an unhandled rejection from done().
    this.donePromise.catch(() => undefined);
  }

  /** Listens for 'data' (each event), 'error' (the stream failed) or 'done' (the final value). */
  on(type: 'data', listener: (event: Event) => void): void;
  on(type: 'error', listener: (error: unknown) => void): void;
  on(type: 'done', listener: (value: Final) => void): void;
  /** The hosted signature (a listener for any of the three; it gets what that type delivers). */
  on(type: SoteStreamEventType, listener: (value: never) => void): void;
  on(type: SoteStreamEventType, listener: (value: never) => void): void {
    this.listeners[type].push(listener as Listener);
  }

  /** Resolves with the final value; rejects with the stream's error or the abort reason. */
  done(): Promise<Final> {
    return this.donePromise;
  }

  /** Ends the stream now (no-op once ended). */
  abort(reason?: string | Error): void {
    if (this.ended) return;
    const why = reason instanceof Error ? reason : new DOMException(reason ?? 'the stream was aborted', 'AbortError');
    this.controller.abort(why);
    this.ended = { ok: false, error: why };
    this.rejectDone(why);
    this.wakeIterator();
    this.onAbort(why);
  }

  /** Aborted by abort() (the hosted stream's internal signal). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Event, void, unknown> {
    for (;;) {
      const next = this.buffer.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  // ---- the owner's side ---------------------------------------------------------------------------------------

  /** Delivers one event (ignored once ended). */
  push(event: Event): void {
    if (this.ended) return;
    this.buffer.push(event);
    this.emit('data', event);
    this.wakeIterator();
  }

  /** Ends the stream with its final value. */
  finish(value: Final): void {
    if (this.ended) return;
    this.ended = { ok: true, value };
    this.emit('done', value);
    this.resolveDone(value);
    this.wakeIterator();
  }

  /** Ends the stream with an error. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = { ok: false, error };
    this.emit('error', error);
    this.rejectDone(error);
    this.wakeIterator();
  }

  private emit(type: SoteStreamEventType, value: unknown): void {
    for (const listener of this.listeners[type]) {
      try {
        (listener as (v: unknown) => void)(value);
      } catch (e) {
        console.error(`a stream '${type}' listener threw`, e);
      }
    }
  }

  private wakeIterator(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
