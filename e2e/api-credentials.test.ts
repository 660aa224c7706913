/**
 * A standalone client installs its model on the first request, from a local hub in SoteDiffusion V2's published
 * layout (e2e/support/hub-fixture.ts), with download progress in the request's logs — and config({ credentials })
 * goes only where allowed: with the hub's origin allowed, every hub request carries `Authorization: Bearer …`;
 * with the default (huggingface.co only) no request anywhere carries it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';
import type { ApiInstallRun } from './pages/api-install.ts';
import { buildFixture, descriptor, publish, type Fixture } from './support/hub-fixture.ts';

const TOKEN = 'hf_e2eSecretToken';

describe('standalone client: installs its model on first use; credentials only to allowed hubs', () => {
  let vite: RunningVite | undefined;
  let hub: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let root = '';
  let files: Fixture[] = [];
  const run = (d: unknown, options: Record<string, unknown>) =>
    browser!.page.evaluate(([dd, o]) => window.soteApiInstall!.run(dd, o), [d, options] as const) as Promise<ApiInstallRun>;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-cred-hub-'));
    files = await buildFixture();
    await publish(root, 'test/tiny-sote', files);
    hub = await startStaticServer(root);
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.goto(`${vite.origin}/e2e/pages/api-install.html`);
    await browser.page.waitForFunction(() => window.soteApiInstallReady === true, undefined, { timeout: 120_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('allowed hub: installs with the token on every hub request, then generates', async () => {
    onTestFailed(() => browser?.printLogs());
    hub!.requests.length = 0;
    const r = await run(descriptor(hub!.origin, 'test/tiny-sote', 'cred-allowed', files), { credentials: TOKEN, credentialOrigins: [hub!.origin] });
    console.log(`allowed: ${r.error ?? 'ok'}; ${r.logs.filter((l) => /model/.test(l)).join(' | ')}`);
    expect(r).toMatchObject({ ok: true, images: [[256, 256]] });
    expect(r.logs.some((l) => /not installed: installing it \(with the configured credentials\)/.test(l))).toBe(true);
    expect(r.logs.some((l) => /^model download 100 %/.test(l))).toBe(true);
    expect(r.logs.some((l) => /^model installed as cred-allowed@fp32/.test(l))).toBe(true);
    const gets = hub!.requests.filter((q) => q.method === 'GET');
    expect(gets.length).toBeGreaterThan(files.length);
    expect(gets.filter((q) => q.authorization !== `Bearer ${TOKEN}`).map((q) => q.path)).toEqual([]);
    // The second request reuses the installed copy: no hub traffic.
    hub!.requests.length = 0;
    const again = await run(descriptor(hub!.origin, 'test/tiny-sote', 'cred-allowed', files), { credentials: TOKEN, credentialOrigins: [hub!.origin] });
    expect(again).toMatchObject({ ok: true, images: [[256, 256]] });
    expect(hub!.requests).toEqual([]);
  });

  it('default (huggingface.co only): a mirror never sees the token', async () => {
    onTestFailed(() => browser?.printLogs());
    hub!.requests.length = 0;
    const r = await run(descriptor(hub!.origin, 'test/tiny-sote', 'cred-mirror', files), { credentials: TOKEN });
    expect(r).toMatchObject({ ok: true, images: [[256, 256]] });
    expect(r.logs.some((l) => /not installed: installing it$/.test(l))).toBe(true);
    expect(hub!.requests.length).toBeGreaterThan(files.length);
    expect(hub!.requests.filter((q) => q.authorization !== undefined)).toEqual([]);
  });
});
