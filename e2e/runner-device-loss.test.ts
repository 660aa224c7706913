/**
 * GeneratorRunner against a really dead WebGPU device (SwiftShader in headless Chromium): the worker's
 * GPUDevice is destroyed (simulateDeviceLoss), the runner replaces the worker (a new onnxruntime instance with a
 * new device), loads the model again and retries the request once — the caller gets an image, and a log line
 * says what happened. WebGPU on SwiftShader is slow, so the demo model runs at 128² with 3 + 1 steps.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startViteServer, type RunningVite } from './support/server.ts';
import type { RunnerRun } from './pages/runner.ts';

describe('generator runner: WebGPU device loss', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const generate = (backend: string, options: Record<string, unknown> = {}) =>
    browser!.page.evaluate(([b, o]) => window.soteRunner!.generate(b as 'webgpu', o), [backend, options] as const) as Promise<RunnerRun>;

  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.goto(`${vite.origin}/e2e/pages/runner.html`);
    await browser.page.waitForFunction(() => window.soteRunnerReady === true, undefined, { timeout: 120_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('a device lost in the middle of Stage C: the request is retried once in a new worker and returns the image', async () => {
    onTestFailed(() => browser?.printLogs());
    const r = await generate('webgpu', { loseDeviceAtStep: 1 });
    console.log(`loss mid-run: ${JSON.stringify({ ...r, events: r.events.filter((e) => e.startsWith('log WARN') || e.startsWith('simulate')) })}`);
    expect(r.events).toContain('simulateDeviceLoss → true');
    expect(r).toMatchObject({ ok: true, backend: 'webgpu', width: 128, height: 128, replacedWorkers: 1 });
    expect(r.distinct).toBeGreaterThan(16);
    expect(r.events.some((e) => /^log WARN: the WebGPU device was lost: simulated device loss.*new worker/.test(e))).toBe(true);
    // The model was loaded twice: in the first worker, then again in the new one.
    expect(r.events.filter((e) => e === 'model-loaded')).toHaveLength(2);
    // A second loss is not retried again: the error reaches the caller.
    expect(await browser!.page.evaluate(() => window.soteRunner!.loseDevice())).toBe(true);
    const again = await generate('webgpu', { loseDeviceAtStep: 1 });
    expect(again).toMatchObject({ ok: false, error: { name: 'DeviceLostError' } });
  });

  it('WASM generations are unaffected by the replaced workers (same runner)', async () => {
    const r = await generate('wasm');
    expect(r).toMatchObject({ ok: true, backend: 'wasm', width: 128, height: 128 });
  });
});
