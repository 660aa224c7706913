/**
 * The generator worker end to end in headless Chromium: the demo model package served by the Vite dev server,
 * loaded and run through src/client/protocol.ts on WebGPU (SwiftShader without a GPU) and on WASM.
 *
 * What "the same image" means here: both backends decode the same seed and settings, and the test compares the
 * final 8-bit RGB bytes (clamp·255, round half-to-even, cropped), channel by channel: max |Δ| ≤ 1 level. A float
 * difference of 1e-3 of the [0,1] range is 0.255 levels, so float agreement within 1e-3 can still flip a value
 * that sits near a rounding boundary by one level, never by two.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { BrowserSession } from './support/browser.ts';
import type { RunningVite } from './support/server.ts';
import { buildDemoModel, DEMO_MODEL_URL, DEMO_REQUEST, openWorkerPage } from './support/worker-page.ts';
import type { RunSummary } from './pages/worker.ts';

describe('generator worker (demo model)', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const runs = new Map<string, RunSummary>();

  beforeAll(async () => {
    buildDemoModel();
    ({ vite, browser } = await openWorkerPage());
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  const run = async (label: string, backend: 'webgpu' | 'wasm', stageATileSize?: number) => {
    const r = await browser!.page.evaluate(
      ([l, load, req]) => window.soteWorker!.run(l, load, req),
      [label, { modelUrl: DEMO_MODEL_URL, backend, stageATileSize }, DEMO_REQUEST] as const,
    );
    runs.set(label, r);
    const t = r.timings;
    console.log(
      `${label}: backend ${r.backend} (${r.load.reason}); wasm threads ${r.load.wasmThreads}, isolated ${r.load.crossOriginIsolated}; ` +
        `load ${r.load.ms.toFixed(0)} ms, generate ${r.generateMs.toFixed(0)} ms ` +
        `(text ${(t.text_encoder * 1000).toFixed(0)}, prior ${(t.prior * 1000).toFixed(0)}, decoder ${(t.decoder * 1000).toFixed(0)}, vqgan ${(t.vqgan * 1000).toFixed(0)} ms); ` +
        `readbacks ${r.readbacks}; mean ${r.images[0].mean.toFixed(2)}, ${r.images[0].distinctValues} distinct values`,
    );
    return r;
  };

  const expectGoodImage = (r: RunSummary, backend: 'webgpu' | 'wasm') => {
    expect(r.backend).toBe(backend);
    expect(r.load.backend).toBe(backend);
    expect(r.images).toHaveLength(1);
    expect(r.images[0]).toMatchObject({ width: 256, height: 256, bytes: 256 * 256 * 3 });
    expect(r.images[0].distinctValues).toBeGreaterThan(16); // not blank, not a flat colour
    expect(r.readbacks).toBe(1);
    expect(r.seed).toBe(String(DEMO_REQUEST.seed));
    expect(r.steps).toBe(4);
    // The backend event names the backend and why, before the model loads.
    const backendEvent = r.events.find((e) => e.type === 'backend');
    expect(backendEvent).toMatchObject({ type: 'backend', backend });
    const types = r.events.map((e) => e.type);
    expect(types.indexOf('backend')).toBeLessThan(types.indexOf('model-loading'));
    expect(types).toContain('model-loaded');
    const log = r.events.find((e) => e.type === 'log' && e.message.startsWith(`backend ${backend}:`));
    expect(log).toBeDefined();
    return backendEvent?.type === 'backend' ? backendEvent.reason : '';
  };

  it('generates on WebGPU (SwiftShader here) with one read-back', async () => {
    onTestFailed(() => browser?.printLogs('browser log (webgpu)'));
    const r = await run('webgpu', 'webgpu');
    const reason = expectGoodImage(r, 'webgpu');
    expect(reason).toMatch(/^WebGPU was requested: .*shader-f16 (yes|no), maxStorageBufferBindingSize \d+ MiB, maxBufferSize \d+ MiB/);
    expect(r.load.adapter?.maxStorageBufferBindingSize).toBeGreaterThan(0);
    // Graph capture is the worker's default on WebGPU: neither step network fell back to uncaptured runs.
    const fallbacks = r.events.filter((e) => e.type === 'log' && /uncaptured/.test(e.message));
    expect(fallbacks).toEqual([]);
  });

  it('generates on WASM with one read-back', async () => {
    onTestFailed(() => browser?.printLogs('browser log (wasm)'));
    const r = await run('wasm', 'wasm');
    expect(expectGoodImage(r, 'wasm')).toBe('WASM was requested');
    expect(r.load.crossOriginIsolated).toBe(true);
    expect(r.load.wasmThreads).toBeGreaterThan(1);
  });

  it('WebGPU and WASM give the same 8-bit image (max |Δ| ≤ 1 level per channel value)', async () => {
    if (!runs.has('webgpu') || !runs.has('wasm')) throw new Error('needs both runs above');
    const d = await browser!.page.evaluate(() => window.soteWorker!.compare('webgpu', 'wasm'));
    console.log(`webgpu vs wasm 8-bit RGB: max |Δ| = ${d.maxDiff} level(s), ${d.differing} of ${d.total} channel values differ`);
    expect(d.maxDiff).toBeLessThanOrEqual(1);
  });

  it('picks a backend by itself and says why', async () => {
    onTestFailed(() => browser?.printLogs('browser log (auto)'));
    const r = await browser!.page.evaluate((load) => window.soteWorker!.loadOnly(load), { modelUrl: DEMO_MODEL_URL });
    console.log(`auto: ${r.load.backend} — ${r.load.reason}`);
    // --enable-unsafe-webgpu gives only SwiftShader, a fallback adapter: 'auto' must prefer WASM and say why.
    expect(r.load.backend).toBe('wasm');
    expect(r.load.reason).toMatch(/^using WASM: the only WebGPU adapter is a software fallback \(google\/swiftshader/);
    expect(r.events[0]).toMatchObject({ type: 'backend', backend: 'wasm', reason: r.load.reason });
  });

  it('a forced tiny Stage A tile size gives the identical image on WASM', async () => {
    const r = await run('wasm-tiled', 'wasm', 8);
    expectGoodImage(r, 'wasm');
    const d = await browser!.page.evaluate(() => window.soteWorker!.compare('wasm-tiled', 'wasm'));
    console.log(`wasm tiled (8-px cores) vs untiled: max |Δ| = ${d.maxDiff}, ${d.differing} of ${d.total} differ`);
    expect(d.maxDiff).toBe(0);
  });

  it('named errors keep their class across the worker boundary (not loaded, cancelled)', async () => {
    onTestFailed(() => browser?.printLogs('browser log (errors)'));
    const notLoaded = await browser!.page.evaluate((req) => window.soteWorker!.generateWithoutModel(req), DEMO_REQUEST);
    expect(notLoaded).toMatchObject({ isExpectedClass: true, isSoteError: true, name: 'ModelNotLoadedError' });
    expect(notLoaded.message).toContain(notLoaded.remedy!);
    const cancelled = await browser!.page.evaluate(
      ([load, req]) => window.soteWorker!.cancelAfterFirstStep(load, req),
      [{ modelUrl: DEMO_MODEL_URL, backend: 'wasm' }, { ...DEMO_REQUEST, stageC: { steps: 20, cfg: 4 }, stageB: { steps: 20, cfg: 1.1 } }] as const,
    );
    console.log(`cancel: ${cancelled.name} after ${cancelled.stepsSeen} step event(s): ${cancelled.message}`);
    expect(cancelled).toMatchObject({ isExpectedClass: true, isSoteError: true, name: 'GenerationCancelledError', cancelled: true });
    // Events reach the page after the worker moved on, so the cancel lands some steps later; it must still stop
    // the generation before its 40 steps complete.
    expect(cancelled.stepsSeen).toBeLessThan(40);
  });
});
