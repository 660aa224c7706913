import { describe, expect, it } from 'vitest';
import { StoreCalls } from './store-calls.ts';

/** A promise with its resolve function, to hold a call open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('StoreCalls', () => {
  it('is busy exactly while a call runs, including one that fails', async () => {
    const calls = new StoreCalls();
    const g = gate();
    const call = calls.run(() => g.promise.then(() => 7));
    expect(calls.busy).toBe(true);
    g.open();
    await expect(call).resolves.toBe(7);
    expect(calls.busy).toBe(false);
    await expect(calls.run(() => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(calls.busy).toBe(false);
  });

  it('runs one install at a time; the next may start once it ended', async () => {
    const calls = new StoreCalls();
    const g = gate();
    const first = calls.install(() => g.promise);
    await expect(calls.install(async () => 'second')).rejects.toThrow('another install is running: cancel it or wait for it to finish');
    expect(calls.busy).toBe(true);
    g.open();
    await first;
    await expect(calls.install(async () => 'third')).resolves.toBe('third');
    expect(calls.busy).toBe(false);
  });

  it('cancelInstall aborts the running install with an AbortError, and is false when none runs', async () => {
    const calls = new StoreCalls();
    expect(calls.cancelInstall()).toBe(false);
    let seen: AbortSignal | undefined;
    const install = calls.install((signal) => {
      seen = signal;
      return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    expect(calls.cancelInstall()).toBe(true);
    await expect(install).rejects.toMatchObject({ name: 'AbortError', message: 'install cancelled' });
    expect(seen?.aborted).toBe(true);
    expect(calls.cancelInstall()).toBe(false);
    expect(calls.busy).toBe(false);
  });
});
