/**
 * Retries with exponential back-off and full jitter: attempt n (0-based) waits a random time in
 * [0, min(maxDelay, baseDelay·2ⁿ)] before retrying. Full jitter keeps parallel slice fetches that failed
 * together (a dropped network) from hammering the server in lock-step when it returns.
 */
export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Upper bound of the wait before retry number `retry` (0 = the wait after the first failure). */
export function backoffCeiling(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
}

/** Errors that retrying cannot fix (HTTP statuses core/retryable-status.ts calls permanent, integrity, quota); everything else is retried. */
export class PermanentError extends Error {
  constructor(readonly error: Error) {
    super(error.message);
    this.name = 'PermanentError';
  }
}

export interface RetryHooks {
  signal?: AbortSignal;
  /** Defaults to Math.random (tests pass a fixed value). */
  random?: () => number;
  /** Defaults to a signal-aware setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    if (signal?.aborted) return fail(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      ok();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      fail(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `task` until it succeeds, throws a PermanentError (its inner error is rethrown at once), the signal
 * aborts, or the attempts are used up (the last error is rethrown).
 */
export async function withRetry<T>(task: (attempt: number) => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY, hooks: RetryHooks = {}): Promise<T> {
  const random = hooks.random ?? Math.random;
  const sleep = hooks.sleep ?? abortableSleep;
  for (let attempt = 0; ; attempt++) {
    hooks.signal?.throwIfAborted();
    try {
      return await task(attempt);
    } catch (e) {
      if (e instanceof PermanentError) throw e.error;
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      if (attempt + 1 >= policy.attempts) throw e;
      const delay = Math.floor(random() * backoffCeiling(policy, attempt));
      hooks.onRetry?.(attempt + 1, delay, e);
      await sleep(delay, hooks.signal);
    }
  }
}
