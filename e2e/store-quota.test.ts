/**
 * Storage quota, end to end with Chromium's real IndexedDB quota enforcement:
 * - too little space by the estimate → StorageQuotaError('before') and nothing written;
 * - space running out in the middle of an install (real QuotaExceededError from IndexedDB) →
 *   StorageQuotaError('during'), every slice, package file and install record of that install removed.
 *
 * How the quota is made small: the CDP command Storage.overrideQuotaForOrigin. Chromium (156) applies it only
 * when it is set BEFORE the origin first touches storage — set later, it is accepted and silently ignored
 * (measured: writes past the override keep succeeding). So this file uses its own fresh browser profile and
 * sets the override before the first navigation. navigator.storage.estimate() does not reflect the override, so
 * the 'before' case injects its estimate (fakeFreeBytes) instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';
import type { InstallSummary, StoreCounts } from './pages/store.ts';
import { buildFixture, descriptor, publish, type Fixture } from './support/hub-fixture.ts';

/** The origin's whole IndexedDB quota: room for the page's own databases and a few slices, not the model. */
const QUOTA_BYTES = 768 * 1024;

describe('model store: storage quota (real IndexedDB enforcement)', () => {
  let vite: RunningVite | undefined;
  let hub: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let root = '';
  let files: Fixture[] = [];

  const page = () => browser!.page;
  const install = (d: unknown, options: Record<string, unknown> = {}) =>
    page().evaluate(([dd, o]) => window.soteStore!.install(dd, o), [d, { precision: 'fp32', sliceBytes: 16 * 1024, parallel: 2, retry: { attempts: 1, baseDelayMs: 5, maxDelayMs: 10 }, ...options }] as const) as Promise<InstallSummary>;
  const counts = () => page().evaluate(() => window.soteStore!.counts()) as Promise<StoreCounts>;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-quota-hub-'));
    files = await buildFixture();
    await publish(root, 'test/tiny-sote', files);
    hub = await startStaticServer(root);
    vite = await startViteServer();
    browser = await launchBrowser();
    const cdp = await browser.context.newCDPSession(page());
    // Before the first navigation: see the file comment.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: vite.origin, quotaSize: QUOTA_BYTES });
    await page().goto(`${vite.origin}/e2e/pages/store.html`);
    await page().waitForFunction(() => window.soteStoreReady === true, undefined, { timeout: 120_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('too little space by the estimate → StorageQuotaError before anything is written', async () => {
    onTestFailed(() => browser?.printLogs());
    const before = await counts();
    const r = await install(descriptor(hub!.origin, 'test/tiny-sote', 'tiny-quota', files), { fakeFreeBytes: 256 * 1024 });
    console.log(`quota before: ${r.error?.message}`);
    expect(r.error).toMatchObject({ name: 'StorageQuotaError', detail: { when: 'before' } });
    expect(r.error!.detail.needed as number).toBeGreaterThan(r.error!.detail.available as number);
    expect(r.error!.message).toMatch(/free at least/);
    expect(await counts()).toEqual(before);
  });

  it('space runs out mid-install → StorageQuotaError during, nothing partial left', async () => {
    onTestFailed(() => browser?.printLogs());
    const before = await counts();
    hub!.resetCounters();
    // checkQuota false: the estimate would refuse up front (the case above); here the writes themselves must fail.
    const r = await install(descriptor(hub!.origin, 'test/tiny-sote', 'tiny-quota', files), { checkQuota: false });
    const total = files.reduce((a, f) => a + f.bytes.length, 0);
    console.log(`quota mid-way: ${r.error?.message} ${JSON.stringify(r.error?.detail)}; served ${hub!.totalBytesServed()} of ${total} B before it hit`);
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ name: 'StorageQuotaError', detail: { when: 'during' } });
    expect(r.error!.message).toMatch(/free at least/);
    // It really was mid-way: some slices had been stored (bytes served) before a write failed.
    expect(hub!.totalBytesServed()).toBeGreaterThan(0);
    expect(await counts()).toEqual({ ...before, installs: 0 });
    expect(await page().evaluate(() => window.soteStore!.list())).toEqual([]);
  });
});
