/**
 * The safety checker end to end in headless Chromium: the real transformers.js image-classification pipeline on
 * our onnxruntime-web (WASM, and WebGPU on SwiftShader), loading the tiny "flags bright images" classifier
 * (src/models/tiny-classifier.ts) from a local static server with remote models disabled.
 *
 * Known by construction: P(nsfw) = sigmoid(8·(mean pixel_value)), pixel_value = (level/255 − 0.5)/0.5, so a
 * flat level-230 image is flagged (P ≈ 0.9984) and replaced by black, a flat level-20 one passes (P ≈ 0.0012).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { tinyNsfwClassifierFiles, tinyNsfwProbability } from '../src/models/tiny-classifier.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';
import type { SafetyRunRequest, SafetyRunSummary } from './pages/safety.ts';

const MODEL_ID = 'tiny-nsfw';
// Downscales only (generated images are ≥ 256²): a flat image stays flat through the processor's resize.
const BRIGHT = { width: 64, height: 48, level: 230 };
const DARK = { width: 48, height: 64, level: 20 };

describe('safety checker in Chromium (transformers.js on our onnxruntime-web)', () => {
  let root = '';
  let models: StaticServer | undefined;
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-safety-e2e-'));
    for (const [rel, bytes] of await tinyNsfwClassifierFiles()) {
      const path = join(root, MODEL_ID, rel);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
    models = await startStaticServer(root);
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.goto(`${vite.origin}/e2e/pages/safety.html`);
    await browser.page.waitForFunction(() => window.soteSafetyReady === true, undefined, { timeout: 120_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await models?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const run = (req: Omit<SafetyRunRequest, 'modelBase' | 'modelId'>): Promise<SafetyRunSummary> =>
    browser!.page.evaluate((r) => window.soteSafety!.run(r), { ...req, modelBase: `${models!.origin}/`, modelId: MODEL_ID });

  // First on purpose: a fresh page where nothing has loaded the classifier yet.
  it('disabled: the classifier is never loaded (0 requests for model files, transformers.js not imported)', async () => {
    onTestFailed(() => browser?.printLogs('browser log (disabled)'));
    models!.resetCounters();
    for (const device of ['wasm', 'webgpu'] as const) {
      const r = await run({ device, enabled: false, images: [BRIGHT, DARK] });
      expect(r.has_nsfw_concepts).toEqual([false, false]);
      expect(r.images.map((im) => im.sameObject && im.unchanged)).toEqual([true, true]);
      expect(r.timings.safety_checker).toBeUndefined();
      expect(r.events).toEqual([{ type: 'safety-disabled', images: 2 }]);
    }
    expect(models!.requests).toEqual([]);
    const state = await browser!.page.evaluate(() => window.soteSafety!.state());
    expect(state.transformersImported).toBe(false);
  });

  for (const device of ['wasm', 'webgpu'] as const) {
    it(`enabled on ${device}: bright image flagged and blacked out, dark image unchanged`, async () => {
      onTestFailed(() => {
        browser?.printLogs(`browser log (${device})`);
        console.log(`model server requests: ${JSON.stringify(models?.requests)}`);
      });
      models!.resetCounters();
      const r = await run({ device, enabled: true, images: [BRIGHT, DARK] });
      console.log(`${device}: ${r.log.join(' | ')}; total ${r.ms.toFixed(0)} ms, timings.safety_checker ${r.timings.safety_checker?.toFixed(3)} s`);
      console.log(`${device}: model requests ${models!.requests.map((q) => `${q.path} ${q.status}`).join(', ')}`);
      expect(r.has_nsfw_concepts).toEqual([true, false]);
      expect(r.images[0]).toMatchObject({ width: BRIGHT.width, height: BRIGHT.height, bytes: BRIGHT.width * BRIGHT.height * 3, allZero: true });
      expect(r.images[1]).toMatchObject({ width: DARK.width, height: DARK.height, unchanged: true, sameObject: true });
      expect(r.nsfwProbability[0]).toBeCloseTo(tinyNsfwProbability(BRIGHT.level), 4);
      expect(r.nsfwProbability[1]).toBeCloseTo(tinyNsfwProbability(DARK.level), 4);
      expect(r.timings.safety_checker).toBeGreaterThan(0);
      expect(r.events.filter((e) => e.type === 'safety-image')).toHaveLength(2);
      expect(r.events[0]).toMatchObject({ type: 'safety-loaded', device });
      // The model came from our static server: the three files in full (transformers.js 4.3.1 reads config.json
      // twice and probes optional files with a 1-byte Range GET; absent ones such as tokenizer_config.json 404).
      const files = [`/${MODEL_ID}/config.json`, `/${MODEL_ID}/onnx/model.onnx`, `/${MODEL_ID}/preprocessor_config.json`];
      const full = new Set(models!.requests.filter((q) => q.status === 200).map((q) => q.path));
      expect([...full].sort()).toEqual(files);
      for (const q of models!.requests) expect(files.includes(q.path) || q.status === 404).toBe(true);
      for (const f of files) expect(models!.bytesServed(f)).toBeGreaterThan(0);

      const state = await browser!.page.evaluate(() => window.soteSafety!.state());
      console.log(`${device}: page state ${JSON.stringify(state)}`);
      expect(state.sharesOurOrt).toBe(true);
      expect(state.wasmPaths).toBe('null'); // transformers.js' jsDelivr default was undone
      // One runtime: only onnxruntime-web's own files, from our origin (none from a nested 1.31 copy, none from a CDN).
      for (const url of state.ortResources) expect(url.startsWith(vite!.origin)).toBe(true);
      expect(state.ortResources.some((u) => u.includes('/node_modules/@huggingface/'))).toBe(false);

      // A second call reuses the pipeline: no new model requests, no second 'safety-loaded'.
      models!.resetCounters();
      const again = await run({ device, enabled: true, images: [DARK] });
      expect(again.has_nsfw_concepts).toEqual([false]);
      expect(again.events.map((e) => e.type)).toEqual(['safety-image']);
      expect(models!.requests).toEqual([]);
    });
  }
});
