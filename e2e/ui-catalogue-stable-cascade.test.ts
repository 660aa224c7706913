/**
 * The Models panel offers the built-in Stable Cascade entries when the page is opened with
 * `?model=stable-cascade` / `?model=stable-cascade-lite` (beside SoteDiffusion, which is always listed), each
 * with its package size per precision. Nothing is installed (the real files are 5–12 GB).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

describe('Models panel: built-in Stable Cascade from ?model=', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('lists Stable Cascade (big and lite) with their sizes; the plain page lists neither', async () => {
    onTestFailed(() => browser?.printLogs('browser log (catalogue)'));
    const page = browser!.page;
    const options = async (id: string) => {
      const entry = page.locator(`.catalogue .entry[data-model="${id}"]`);
      await entry.waitFor({ timeout: 60_000 });
      return { name: await entry.locator('strong').textContent(), options: (await entry.locator('select option').allTextContents()).join('\n') };
    };
    await page.goto(`${vite!.origin}/?model=stable-cascade`);
    const big = await options('stable-cascade');
    expect(big.name).toBe('Stable Cascade');
    expect(big.options).toMatch(/fp16 — 10\.83 GiB/);
    await page.locator('.catalogue .entry[data-model="sotediffusion-v2"]').waitFor();

    await page.goto(`${vite!.origin}/?model=stable-cascade-lite`);
    const lite = await options('stable-cascade-lite');
    expect(lite.name).toBe('Stable Cascade lite');
    expect(lite.options).toMatch(/fp16 — 4\.49 GiB/);
    expect(await page.locator('.catalogue .entry[data-model="stable-cascade"]').count()).toBe(0);

    await page.goto(`${vite!.origin}/`);
    await page.locator('.catalogue .entry[data-model="sotediffusion-v2"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('.catalogue .entry[data-model^="stable-cascade"]').count()).toBe(0);
  });
});
