/**
 * The request-level calls of the public surface on top of the RequestQueue: submit with its options, subscribe
 * (and run), the two streams, and the waits that take an abort signal. The hosted client's semantics:
 * - `timeout` (ms): when it expires the request is cancelled and the call rejects with the hosted client's
 *   "Client timed out waiting for the request to complete after {timeout}ms" Error;
 * - `startTimeout` (s): a request still queued then is cancelled and the call rejects with StartTimeoutError
 *   (ApiError 504, timeoutType 'user');
 * - `abortSignal` on a request-making call cancels the request; on a waiting call (status, result,
 *   subscribeToStatus) it only stops the wait.
 * Every cancellation these make is logged in the request with its reason.
 */
import { StartTimeoutError } from './api-errors.ts';
import type { RequestOptions, SoteStreamEvent, StatusOptions, StreamOptions, SubscribeOptions, SubscribeToStatusOptions } from './client-types.ts';
import { SoteStream } from './fal-stream.ts';
import type { RequestQueue } from './queue.ts';
import type { CompletedStatus, QueueStatus, SoteOutput, SoteResult, SubmitResult } from './queue-types.ts';

export interface RequestContext {
  queue: RequestQueue;
  /** Logs the "headers are ignored" WARN (once per client). */
  headersIgnored(): void;
}

/** `work`, or a rejection with the signal's reason if it aborts first. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** After `seconds`, cancels the request if it is still queued, calling `onExpire` first; returns the disarm. */
function armStartTimeout(queue: RequestQueue, requestId: string, seconds: number, onExpire: (error: StartTimeoutError) => void): () => void {
  const timer = setTimeout(() => {
    void (async () => {
      const status = await queue.status(requestId);
      if (status.status !== 'IN_QUEUE') return;
      onExpire(new StartTimeoutError(requestId, seconds));
      await queue.cancel(requestId, `not started within its startTimeout of ${seconds} s: cancelled`);
    })().catch((e: unknown) => console.error(`sote: startTimeout of request ${requestId}`, e));
  }, seconds * 1000);
  return () => clearTimeout(timer);
}

async function enqueue(ctx: RequestContext, endpointId: string, o: RequestOptions, previews: boolean): Promise<SubmitResult> {
  o.abortSignal?.throwIfAborted();
  if (o.headers !== undefined) ctx.headersIgnored();
  return ctx.queue.submit(endpointId, o.input, o.webhookUrl, { previews, priority: o.priority });
}

/** queue.submit: queues the request (startTimeout armed; the caller follows it with status/result). */
export async function submitRequest(ctx: RequestContext, endpointId: string, o: RequestOptions): Promise<SubmitResult> {
  const submitted = await enqueue(ctx, endpointId, o, false);
  if (o.startTimeout !== undefined) armStartTimeout(ctx.queue, submitted.request_id, o.startTimeout, () => undefined);
  return submitted;
}

/** subscribe (and run, with no callbacks): submit, follow the status, resolve with the result. */
export async function subscribeRequest(ctx: RequestContext, endpointId: string, o: SubscribeOptions): Promise<SoteResult> {
  const { request_id: requestId } = await enqueue(ctx, endpointId, o, false);
  o.onEnqueue?.(requestId);
  return new Promise<SoteResult>((resolve, reject) => {
    const cleanups: (() => void)[] = [];
    let settled = false;
    /** Stops the status updates once the call is settled early (timeout, abort). */
    const updates = new AbortController();
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      updates.abort();
      finish();
    };
    const cancelWith = (error: unknown, why: string) => settle(() => {
      void ctx.queue.cancel(requestId, why).catch(() => undefined);
      reject(error);
    });
    const signal = o.abortSignal;
    if (signal) {
      const onAbort = () => cancelWith(signal.reason, 'aborted by the caller (abortSignal)');
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (o.timeout !== undefined) {
      const ms = o.timeout;
      const timer = setTimeout(() => cancelWith(new Error(`Client timed out waiting for the request to complete after ${ms}ms`), `the caller's timeout of ${ms} ms expired`), ms);
      cleanups.push(() => clearTimeout(timer));
    }
    if (o.startTimeout !== undefined) cleanups.push(armStartTimeout(ctx.queue, requestId, o.startTimeout, (e) => settle(() => reject(e))));
    ctx.queue.subscribeToStatus(requestId, o.logs ?? false, o.onQueueUpdate, updates.signal)
      .then(() => ctx.queue.result(requestId))
      .then((result) => settle(() => resolve(result)), (e: unknown) => settle(() => reject(e)));
  });
}

/** queue.subscribeToStatus with the hosted options (timeout cancels the request; abortSignal stops the wait). */
export async function subscribeToStatus(ctx: RequestContext, o: SubscribeToStatusOptions): Promise<CompletedStatus> {
  if (o.headers !== undefined) ctx.headersIgnored();
  const updates = new AbortController();
  const stopOnAbort = () => updates.abort(o.abortSignal?.reason);
  o.abortSignal?.addEventListener('abort', stopOnAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (o.timeout !== undefined) {
    const ms = o.timeout;
    timer = setTimeout(() => {
      updates.abort(new Error(`Client timed out waiting for the request to complete after ${ms}ms`));
      void ctx.queue.cancel(o.requestId, `the caller's timeout of ${ms} ms expired`).catch(() => undefined);
    }, ms);
  }
  try {
    o.abortSignal?.throwIfAborted();
    return await ctx.queue.subscribeToStatus(o.requestId, o.logs ?? false, o.onQueueUpdate, updates.signal);
  } finally {
    clearTimeout(timer);
    o.abortSignal?.removeEventListener('abort', stopOnAbort);
  }
}

/** queue.status with an abort signal. */
export function requestStatus(ctx: RequestContext, o: StatusOptions): Promise<QueueStatus> {
  return untilAborted(ctx.queue.status(o.requestId, o.logs ?? false), o.abortSignal);
}

/**
 * Starts a stream's updates on the next task, so that listeners attached right after `await fal.stream(…)` hear
 * every event (the hosted stream's first chunk arrives over the network, never before the caller has it).
 */
function afterCaller(start: () => Promise<unknown>): void {
  setTimeout(() => void start(), 0);
}

function abortReason(signal: AbortSignal): Error | undefined {
  return signal.reason instanceof Error ? signal.reason : undefined;
}

/** queue.streamStatus: every status change; done() = the COMPLETED status; abort() only stops the updates. */
export async function streamStatus(ctx: RequestContext, o: StatusOptions): Promise<SoteStream<QueueStatus, CompletedStatus>> {
  await ctx.queue.status(o.requestId); // an unknown id rejects here, not inside the stream
  const updates = new AbortController();
  const stream = new SoteStream<QueueStatus, CompletedStatus>(o.requestId, (reason) => updates.abort(reason));
  const signal = o.abortSignal;
  signal?.addEventListener('abort', () => stream.abort(abortReason(signal)), { once: true });
  afterCaller(() => ctx.queue.subscribeToStatus(o.requestId, o.logs ?? false, (status) => stream.push(status), updates.signal)
    .then((completed) => stream.finish(completed), (e: unknown) => stream.fail(e)));
  return stream;
}

/**
 * stream: submits with live previews and streams every status change (with logs), step and Stage C preview;
 * done() = the output; abort() (or options.signal) cancels the request.
 */
export async function streamRequest(ctx: RequestContext, endpointId: string, o: StreamOptions): Promise<SoteStream<SoteStreamEvent, SoteOutput>> {
  o.signal?.throwIfAborted();
  const { request_id: requestId } = await ctx.queue.submit(endpointId, o.input, undefined, { previews: true });
  const updates = new AbortController();
  const stream = new SoteStream<SoteStreamEvent, SoteOutput>(requestId, (reason) => {
    updates.abort(reason);
    void ctx.queue.cancel(requestId, 'stream aborted').catch(() => undefined);
  });
  const signal = o.signal;
  signal?.addEventListener('abort', () => stream.abort(abortReason(signal)), { once: true });
  afterCaller(() => {
    const unwatch = ctx.queue.watch(requestId, (e) => {
      if (e.type === 'step' || e.type === 'preview') stream.push(e);
    });
    return ctx.queue.subscribeToStatus(requestId, true, (status) => stream.push(status), updates.signal)
      .then(() => ctx.queue.result(requestId))
      .then((result) => stream.finish(result.data), (e: unknown) => stream.fail(e))
      .finally(unwatch);
  });
  return stream;
}
