import { describe, expect, it } from 'vitest';
import { backoffCeiling, PermanentError, withRetry, type RetryPolicy } from './retry.ts';

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300 };

describe('retry with exponential back-off', () => {
  it('ceilings double per retry up to the maximum', () => {
    expect([0, 1, 2, 3, 4].map((r) => backoffCeiling(policy, r))).toEqual([100, 200, 300, 300, 300]);
  });

  it('retries until success, waiting random·ceiling each time', async () => {
    const waits: number[] = [];
    let calls = 0;
    const r = await withRetry(async () => {
      if (++calls < 3) throw new Error(`fail ${calls}`);
      return 'ok';
    }, policy, { random: () => 0.5, sleep: async (ms) => void waits.push(ms) });
    expect(r).toBe('ok');
    expect(calls).toBe(3);
    expect(waits).toEqual([50, 100]);
  });

  it('gives up after `attempts` tries with the last error', async () => {
    let calls = 0;
    await expect(withRetry(async () => {
      throw new Error(`fail ${++calls}`);
    }, policy, { random: () => 0, sleep: async () => undefined })).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
  });

  it('a PermanentError stops at once and rethrows its inner error', async () => {
    let calls = 0;
    const inner = new TypeError('404');
    await expect(withRetry(async () => {
      calls++;
      throw new PermanentError(inner);
    }, policy, { sleep: async () => undefined })).rejects.toBe(inner);
    expect(calls).toBe(1);
  });

  it('an abort stops waiting and rethrows the reason', async () => {
    const ac = new AbortController();
    const p = withRetry(async () => {
      throw new Error('down');
    }, { attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 }, { signal: ac.signal, random: () => 1 });
    setTimeout(() => ac.abort(new Error('user cancelled')), 10);
    await expect(p).rejects.toThrow('user cancelled');
  });
});
