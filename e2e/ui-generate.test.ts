/**
 * The generator page end to end (demo model, WASM): fill the form, Ctrl+Enter, watch the progress, get a
 * correctly sized non-blank image in the gallery, reload and find it in the history, restore settings from
 * the PNG's parameters chunk.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

describe('generator page', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.setViewportSize({ width: 1280, height: 800 });
    await browser.page.goto(`${vite.origin}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('generates an image from the form with Ctrl+Enter and keeps it across a reload', async () => {
    onTestFailed(() => browser?.printLogs('browser log (page)'));
    const page = browser!.page;
    await page.fill('textarea[name=prompt]', '1girl, solo, smile');
    await page.selectOption('select[name=size]', 'custom');
    await page.fill('input[name=width]', '256');
    await page.fill('input[name=height]', '384');
    await page.fill('input[name=first_stage_steps]', '4');
    await page.fill('input[name=second_stage_steps]', '4');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.check('input[name=seedLocked]');
    await page.fill('input[name=seed]', '42');
    await page.press('textarea[name=prompt]', 'Control+Enter');
    await page.waitForSelector('.card canvas', { timeout: 60_000 });
    const info = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('.card canvas')!;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const distinct = new Set<number>();
      for (let i = 0; i < px.length; i += 4) distinct.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
      return { w: c.width, h: c.height, distinct: distinct.size, meta: document.querySelector('.card .meta')!.textContent, status: document.querySelector('.status')!.textContent };
    });
    console.log(`page image ${info.w}×${info.h}, ${info.distinct} distinct colours; ${info.meta}; ${info.status}`);
    expect([info.w, info.h]).toEqual([256, 384]);
    expect(info.distinct).toBeGreaterThan(100);
    expect(info.meta).toContain('seed 42');
    // The safety checker is on by default and ran (the demo's checker passes these mid-grey noise images).
    expect(await page.isChecked('input[name=enable_safety_checker]')).toBe(true);
    expect(info.status).toMatch(/^Done in [\d.]+ s on wasm$/);
    expect(browser!.logs.join('\n')).not.toMatch(/SafetyChecker/);
    await page.screenshot({ path: '/tmp/sote-page.png' });

    // The page also exposes the hosted client's API.
    expect(await page.evaluate(() => typeof (window as unknown as { sote?: { subscribe?: unknown } }).sote?.subscribe)).toBe('function');

    await page.reload();
    await page.waitForSelector('.card canvas', { timeout: 60_000 });
    expect(await page.locator('.card').count()).toBe(1);
    expect(await page.inputValue('textarea[name=prompt]')).toBe('1girl, solo, smile');
  });
});
