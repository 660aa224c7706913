/**
 * Calls that must not overlap (onnxruntime sessions are not re-entrant, and a device-resident pipeline owns its
 * buffers): each runs after every earlier one has settled, whether it succeeded or failed. Each call has its own
 * event listener; events emitted while it runs go to it, events outside any call are dropped.
 */
export class SerialCalls<E> {
  #tail: Promise<unknown> = Promise.resolve();
  #listener: ((event: E) => unknown) | undefined;

  /** Runs `fn` once every earlier call has settled, with events going to `listener`. */
  run<T>(fn: () => Promise<T>, listener?: (event: E) => unknown): Promise<T> {
    const call = async () => {
      this.#listener = listener;
      try {
        return await fn();
      } finally {
        this.#listener = undefined;
      }
    };
    const next = this.#tail.then(call, call);
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Forwards an event to the running call's listener; a listener that fails (a page gone away) never fails the call. */
  emit(event: E): void {
    const listener = this.#listener;
    if (!listener) return;
    try {
      Promise.resolve(listener(event)).catch(() => undefined);
    } catch {
      // A synchronous throw is dropped as well.
    }
  }
}
