/**
 * Error states of the generator page say what went wrong and what to do, and following the remedy works. This
 * file's Chromium has no usable WebGPU adapter (GPU and software rasterizer disabled, so not even SwiftShader):
 * forcing the WebGPU backend ends in WebGPUUnavailableError, shown with its remedy (choose WASM); choosing WASM
 * then generates, and `auto` falls back to WASM by itself. (The field-validation error is in ui-paths.)
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { cardCount, fillFast, generateAndWait, sel } from './support/generator-page.ts';
import { checkedScreenshot, expectGeneratedCanvas } from './support/screenshots.ts';
import { startViteServer, type RunningVite } from './support/server.ts';

/** Chromium flags that leave navigator.gpu in place but make requestAdapter() return null (checked below). */
const NO_WEBGPU_ADAPTER = ['--disable-gpu', '--disable-software-rasterizer', '--use-angle=none'];

describe('generator page error states (no WebGPU adapter)', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const page = () => browser!.page;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser({ args: NO_WEBGPU_ADAPTER });
    await page().setViewportSize({ width: 1280, height: 800 });
    await page().goto(`${vite.origin}/`);
    await page().waitForSelector(sel.generate);
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('forcing WebGPU shows WebGPUUnavailableError with its remedy; the buttons come back; no image', async () => {
    onTestFailed(() => browser?.printLogs('browser log (webgpu unavailable)'));
    const p = page();
    // The premise: this browser has WebGPU's API but no adapter (as on a machine with a blocklisted GPU).
    const adapter = await p.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return gpu ? ((await gpu.requestAdapter()) === null ? 'null' : 'adapter') : 'no navigator.gpu';
    });
    expect(adapter).toBe('null');

    await fillFast(p, { seed: 1 });
    await p.selectOption(sel.backend, 'webgpu');
    await p.click(sel.generate);
    const alert = p.locator(sel.alert);
    await alert.waitFor({ state: 'visible', timeout: 30_000 });
    const text = await alert.innerText();
    console.log(`alert: ${text.replace(/\n/g, ' | ')}`);
    // The problem (first line, bold) and the remedy, which names the way out on this page.
    expect(await alert.locator('strong').innerText()).toMatch(/^WebGPU is not available: navigator\.gpu\.requestAdapter\(\) returned null/);
    expect(text).toMatch(/choose the WASM backend/);
    expect(text).not.toMatch(/ — /); // problem and remedy are shown apart, not as one run-on message
    await p.waitForFunction((s) => !document.querySelector<HTMLButtonElement>(s)!.disabled, sel.generate);
    expect(await p.isDisabled(sel.cancel)).toBe(true);
    expect(await p.textContent(sel.status)).toMatch(/^Failed/);
    expect(await cardCount(p)).toBe(0);
    await checkedScreenshot(p, 'errors-01-webgpu-unavailable');
    await checkedScreenshot(alert, 'errors-01-alert', { minColours: 8 });
  });

  it('following the remedy (WASM) generates and clears the error; auto falls back to WASM by itself', async () => {
    onTestFailed(() => browser?.printLogs('browser log (remedy)'));
    const p = page();
    await p.selectOption(sel.backend, 'wasm');
    await generateAndWait(p, () => p.click(sel.generate));
    expect(await p.locator(sel.alert).isHidden()).toBe(true);
    await expectGeneratedCanvas(p, sel.cardCanvas, 0, 256, 256);
    await checkedScreenshot(p, 'errors-02-wasm-after-remedy');

    await p.selectOption(sel.backend, 'auto');
    await generateAndWait(p, () => p.click(sel.generate));
    await expectGeneratedCanvas(p, sel.cardCanvas, 0, 256, 256);
    expect(await p.locator(sel.alert).isHidden()).toBe(true);
  });
});
