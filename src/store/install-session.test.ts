/**
 * The parts of an install session that need no IndexedDB (the rest runs in Chromium: e2e/store-*.test.ts):
 * the caller's signal, the quota check before writing, and the failures that keep everything.
 */
import { describe, expect, it } from 'vitest';
import { DownloadError, StorageQuotaError } from './errors.ts';
import { InstallSession, type InstallOptions } from './install-session.ts';
import type { InstallEvent } from './progress.ts';

const noLookup = { tokenOrigin: 'null', lookupDigest: async () => ({}) };

function session(options: InstallOptions = {}): { s: InstallSession; events: InstallEvent[] } {
  const events: InstallEvent[] = [];
  return { s: new InstallSession('m@fp16', { ...options, onEvent: (e) => events.push(e) }, noLookup), events };
}

describe('InstallSession', () => {
  it('follows the caller\'s abort while it runs and lets go of the caller\'s signal when it ends', async () => {
    const during = new AbortController();
    const a = session({ signal: during.signal }).s;
    await expect(a.run([], async () => {
      during.abort(new Error('user cancelled'));
      a.signal.throwIfAborted();
    })).rejects.toThrow('user cancelled');

    const after = new AbortController();
    const b = session({ signal: after.signal }).s;
    await b.run([], async () => undefined);
    after.abort(new Error('too late'));
    expect(b.signal.aborted).toBe(false); // the listener was removed
  });

  it('starts aborted when the caller already aborted, and fail() aborts with the first failure', () => {
    const ac = new AbortController();
    ac.abort(new Error('before'));
    expect(session({ signal: ac.signal }).s.signal.aborted).toBe(true);
    const { s } = session();
    s.fail(new Error('first'));
    s.fail(new Error('second'));
    expect((s.signal.reason as Error).message).toBe('first');
    expect(s.download.signal).toBe(s.signal);
  });

  it('reports the quota and refuses before writing when the free space is short', async () => {
    const { s, events } = session({ estimate: async () => ({ usage: 70, quota: 100 }) });
    let cleaned = false;
    const refusal = await s.run([], () => s.checkQuota(50, async () => {
      cleaned = true;
    })).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StorageQuotaError);
    expect((refusal as StorageQuotaError).detail).toMatchObject({ needed: 50, available: 30, when: 'before' });
    expect(cleaned).toBe(true);
    expect(events).toEqual([{ type: 'quota', needed: 50, usage: 70, quota: 100, persisted: false }]);

    const unchecked = session({ estimate: async () => ({ usage: 70, quota: 100 }), checkQuota: false }).s;
    await expect(unchecked.checkQuota(50)).resolves.toBeUndefined();
  });

  it('passes a resumable download failure on as it is', async () => {
    const e = new DownloadError('https://hub.test/x', 'network error', true);
    await expect(session().s.run([], () => Promise.reject(e))).rejects.toBe(e);
  });
});
