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
    expect(info.meta).toContain('seed 42 ·');
    // The safety checker is on by default and ran (the demo's checker passes these mid-grey noise images).
    expect(await page.isChecked('input[name=enable_safety_checker]')).toBe(true);
    expect(info.status).toMatch(/^Done in [\d.]+ s on wasm$/);
    expect(browser!.logs.join('\n')).not.toMatch(/SafetyChecker/);
    await page.screenshot({ path: '/tmp/sote-page.png' });

    // The page also exposes the hosted client's API, answered by the page's own worker with the model selected
    // on the page (already loaded by the form's generation: no second load, no second worker).
    const api = await page.evaluate(async () => {
      const r = await window.sote!.subscribe('fal-ai/stable-cascade/sote-diffusion', {
        input: { prompt: '1girl', image_size: { width: 256, height: 256 }, first_stage_steps: 4, second_stage_steps: 4, seed: 5 },
        logs: true,
      });
      const status = await window.sote!.queue.status('fal-ai/stable-cascade/sote-diffusion', { requestId: r.requestId, logs: true });
      return { images: r.data.images.map((i) => [i.width, i.height]), logs: 'logs' in status ? (status.logs ?? []).map((l) => l.message) : [] };
    });
    console.log(`window.sote on the page: ${JSON.stringify(api.images)}; logs: ${api.logs.join(' | ')}`);
    expect(api.images).toEqual([[256, 256]]);
    expect(api.logs.some((m) => m.startsWith('completed'))).toBe(true);
    expect(api.logs.filter((m) => m.startsWith('loading model'))).toEqual([]);
    console.log(`dedicated workers: ${page.workers().map((w) => w.url()).join(', ')}`);
    expect(page.workers().filter((w) => w.url().includes('generator.worker'))).toHaveLength(1);

    // A window.sote request holds the worker: the form's generation says it waits, then runs once the request
    // is cancelled (the two take turns; neither generates with the other's model mid-way).
    const apiRequest = await page.evaluate(async () => (await window.sote!.queue.submit('fal-ai/stable-cascade/sote-diffusion', {
      input: { prompt: 'long one', image_size: { width: 1024, height: 1024 }, first_stage_steps: 50, second_stage_steps: 24 },
    })).request_id);
    await page.waitForFunction(async (id) => (await window.sote!.queue.status('fal-ai/stable-cascade/sote-diffusion', { requestId: id })).status === 'IN_PROGRESS', apiRequest);
    await page.press('textarea[name=prompt]', 'Control+Enter');
    await page.waitForFunction(() => /^Waiting for the window\.sote request/.test(document.querySelector('.status')!.textContent ?? ''));
    await page.evaluate((id) => window.sote!.queue.cancel('fal-ai/stable-cascade/sote-diffusion', { requestId: id }), apiRequest);
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 2, undefined, { timeout: 60_000 });
    expect(await page.textContent('.status')).toMatch(/^Done in/);

    await page.reload();
    await page.waitForSelector('.card canvas', { timeout: 60_000 });
    expect(await page.locator('.card').count()).toBe(2);
    expect(await page.inputValue('textarea[name=prompt]')).toBe('1girl, solo, smile');
  });
});
