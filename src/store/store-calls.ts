/**
 * Bookkeeping of the model store calls one worker runs (install, import, export, re-verify): how many are in
 * flight — a retired worker is terminated only when none is — and the one install allowed at a time (installs
 * compete for bandwidth and the CPU; cancelInstall must reach the running one).
 */
export class StoreCalls {
  #running = 0;
  #install: AbortController | undefined;

  /** True while a call runs. */
  get busy(): boolean {
    return this.#running > 0;
  }

  /** Runs `fn`, counted as a store call. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
    }
  }

  /** Runs an install with its abort signal; rejects at once while another install runs. */
  install<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.run(async () => {
      if (this.#install) throw new Error('another install is running: cancel it or wait for it to finish');
      const controller = new AbortController();
      this.#install = controller;
      try {
        return await fn(controller.signal);
      } finally {
        if (this.#install === controller) this.#install = undefined;
      }
    });
  }

  /** Aborts the running install (it stays resumable); true when one was running. */
  cancelInstall(): boolean {
    if (!this.#install) return false;
    this.#install.abort(new DOMException('install cancelled', 'AbortError'));
    return true;
  }
}
