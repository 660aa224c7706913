/**
 * Offline end to end: build the app (vite build into a temp outDir), serve it with `vite preview`, let the
 * service worker precache the build, generate once with the demo model on WASM through the page; then stop the
 * server AND take the browser offline, reload, and check that the page comes back from the cache still
 * cross-origin isolated (page and generator worker), shows the history, and generates a second image. Also:
 * the dev server stays service-worker-free.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { OfflineStatus } from '../src/offline/register.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { REPO_ROOT, startViteServer } from './support/server.ts';

/** Asks the controlling service worker for its cache status (the page-side twin of offlineStatus()). */
function swStatus(page: Page): Promise<OfflineStatus | null> {
  return page.evaluate(() => new Promise<OfflineStatus | null>((resolve) => {
    const sw = navigator.serviceWorker.controller;
    if (!sw) return resolve(null);
    const channel = new MessageChannel();
    channel.port1.onmessage = (e: MessageEvent<OfflineStatus>) => resolve(e.data);
    sw.postMessage({ type: 'sote-offline-status' }, [channel.port2]);
    setTimeout(() => resolve(null), 5000);
  }));
}

async function generateOnce(page: Page, seed: number, expectedCards: number): Promise<void> {
  await page.fill('textarea[name=prompt]', 'offline, 1girl, smile');
  await page.selectOption('select[name=size]', 'custom');
  await page.fill('input[name=width]', '256');
  await page.fill('input[name=height]', '256');
  await page.fill('input[name=first_stage_steps]', '4');
  await page.fill('input[name=second_stage_steps]', '4');
  await page.selectOption('select[name=backend]', 'wasm');
  await page.check('input[name=seedLocked]');
  await page.fill('input[name=seed]', String(seed));
  await page.press('textarea[name=prompt]', 'Control+Enter');
  await page.waitForFunction((n) => document.querySelectorAll('.card canvas').length >= n, expectedCards, { timeout: 120_000 }).catch(async (e: unknown) => {
    // Say what the page showed: its status line and error box explain most failures.
    const shown = await page.evaluate(() => ({ status: document.querySelector('.status')?.textContent, error: document.querySelector('.error')?.textContent }));
    throw new Error(`no image: status "${shown.status}", error "${shown.error}" (${e instanceof Error ? e.message : String(e)})`);
  });
}

describe('offline reload (production build + service worker)', () => {
  let outDir: string | undefined;
  let profile: string | undefined;
  let server: PreviewServer | undefined;
  let serverStopped = false;
  let browser: BrowserSession | undefined;
  let origin = '';

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'public/models/tiny-demo/manifest.json'))) {
      throw new Error('demo model missing: run `npm run demo-model` (npm test does it in pretest)');
    }
    outDir = await mkdtemp(join(tmpdir(), 'sote-offline-dist-'));
    profile = await mkdtemp(join(tmpdir(), 'sote-offline-profile-'));
    const configFile = join(REPO_ROOT, 'vite.config.ts');
    await build({ configFile, root: REPO_ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    server = await preview({
      configFile, root: REPO_ROOT, logLevel: 'warn', build: { outDir },
      preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
    });
    const address = server.httpServer.address() as AddressInfo;
    origin = `http://127.0.0.1:${address.port}`;
    browser = await launchBrowser({ userDataDir: profile });
    await browser.page.setViewportSize({ width: 1280, height: 800 });
  });

  afterAll(async () => {
    await browser?.close();
    if (server && !serverStopped) await server.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('build writes sw.js with the precache manifest and _headers with COOP/COEP', async () => {
    const sw = await readFile(join(outDir!, 'sw.js'), 'utf8');
    const manifest = JSON.parse(/^self\.__SOTE_PRECACHE__ = (.*);$/m.exec(sw)![1]) as { entries: { url: string; size: number }[] };
    const urls = manifest.entries.map((e) => e.url);
    expect(urls).toContain('/index.html');
    expect(urls.some((u) => /^\/assets\/generator\.worker-.*\.js$/.test(u))).toBe(true);
    // Both onnxruntime-web builds (src/engine/ort-web-loader.ts): JSPI where the browser has it, asyncify otherwise.
    for (const build of ['jspi', 'asyncify']) expect(urls.some((u) => new RegExp(`^/assets/ort-wasm-simd-threaded\\.${build}-.*\\.wasm$`).test(u))).toBe(true);
    for (const f of ['manifest.json', 'stage_c.onnx', 'stage_c.onnx.data.0', 'tokenizer/vocab.json']) expect(urls).toContain(`/models/tiny-demo/${f}`);
    expect(urls).not.toContain('/sw.js');
    expect(urls).not.toContain('/_headers');
    const headers = await readFile(join(outDir!, '_headers'), 'utf8');
    expect(headers).toMatch(/^\/\*\n(\s+.+\n)*\s+Cross-Origin-Opener-Policy: same-origin\n/m);
    expect(headers).toContain('Cross-Origin-Embedder-Policy: require-corp');
    const bytes = manifest.entries.reduce((a, e) => a + e.size, 0);
    console.log(`precache manifest: ${manifest.entries.length} files, ${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
  });

  it('the dev server registers no service worker', async () => {
    const dev = await startViteServer();
    const page = await browser!.context.newPage();
    try {
      await page.goto(`${dev.origin}/`);
      await page.waitForSelector('textarea[name=prompt]');
      await page.waitForTimeout(1000); // past the load event, where a build registers its worker
      const state = await page.evaluate(async () => ({
        registrations: (await navigator.serviceWorker.getRegistrations()).length,
        controlled: navigator.serviceWorker.controller !== null,
        isolated: crossOriginIsolated,
      }));
      expect(state).toEqual({ registrations: 0, controlled: false, isolated: true });
      expect((await fetch(`${dev.origin}/sw.js`)).headers.get('content-type') ?? '').not.toContain('javascript');
    } finally {
      await page.close();
      await dev.stop();
    }
  });

  it('generates online, then reloads with the server stopped and the browser offline and generates again', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const { page, context } = browser!;
    const t0 = Date.now();
    const lap = (what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);

    await page.goto(`${origin}/`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // install waits for the whole precache; activate claims the page: controlled = precached.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    const status = await swStatus(page);
    lap(`service worker controls the page: ${JSON.stringify(status)}`);
    expect(status).not.toBeNull();
    expect(status!.cachedFiles).toBe(status!.files);
    expect(status!.cachedBytes).toBe(status!.totalBytes);
    expect(status!.files).toBeGreaterThanOrEqual(15);

    await generateOnce(page, 42, 1);
    lap('first image (online)');
    expect(await page.locator('.card').count()).toBe(1);

    await server!.close();
    serverStopped = true;
    await expect(fetch(`${origin}/index.html`)).rejects.toThrow();
    await context.setOffline(true);

    await page.reload();
    await page.waitForSelector('.card canvas', { timeout: 60_000 });
    lap('reloaded offline, history shown');
    const state = await page.evaluate(() => ({
      isolated: crossOriginIsolated,
      controlled: navigator.serviceWorker.controller !== null,
      online: navigator.onLine,
      title: document.title,
      form: document.querySelector('textarea[name=prompt]') !== null,
    }));
    expect(state).toEqual({ isolated: true, controlled: true, online: false, title: expect.stringContaining('Sote') as unknown as string, form: true });
    expect(await page.locator('.card').count()).toBe(1);

    await generateOnce(page, 43, 2);
    lap('second image (offline)');
    expect(await page.locator('.card').count()).toBe(2);
    const meta = await page.locator('.card .meta').first().textContent();
    expect(meta).toContain('seed 43');
    expect(meta).toContain('wasm');
    // The generator worker (and so ORT's WASM threads) is isolated too: the worker script came from the cache.
    const workers = page.workers();
    expect(workers.length).toBeGreaterThan(0);
    expect(await workers[0].evaluate(() => self.crossOriginIsolated)).toBe(true);
    const blank = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('.card canvas')!;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const distinct = new Set<number>();
      for (let i = 0; i < px.length; i += 4) distinct.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
      return distinct.size;
    });
    expect(blank).toBeGreaterThan(100);
  });
});
