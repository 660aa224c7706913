/**
 * Which onnxruntime-web build the generator worker runs (src/engine/ort-web-loader.ts), in headless Chromium 137+
 * (which has JSPI): by default the JSPI build, forced the asyncify build; both must give the same image from the
 * demo model on the WASM and on the WebGPU (SwiftShader) execution provider. Each run is a new worker (a worker
 * runs one build for its life). Same-image rule as e2e/worker-generate.test.ts: max |Δ| ≤ 1 8-bit level.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { LoadRequest } from '../src/client/protocol.ts';
import type { BrowserSession } from './support/browser.ts';
import type { RunningVite } from './support/server.ts';
import { buildDemoModel, DEMO_MODEL_URL, DEMO_REQUEST, openWorkerPage } from './support/worker-page.ts';
import type { RunSummary } from './pages/worker.ts';

describe('onnxruntime-web build: JSPI where the browser has it, asyncify as the fallback', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    buildDemoModel();
    ({ vite, browser } = await openWorkerPage());
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  const run = async (label: string, load: LoadRequest): Promise<RunSummary> => {
    const r = await browser!.page.evaluate(([l, ld, req]) => window.soteWorker!.run(l, ld, req), [label, load, DEMO_REQUEST] as const);
    console.log(`${label}: ${r.load.backend}, onnxruntime-web ${r.load.ortBuild} build; load ${r.load.ms.toFixed(0)} ms, generate ${r.generateMs.toFixed(0)} ms`);
    expect(r.images[0]).toMatchObject({ width: 256, height: 256, bytes: 256 * 256 * 3 });
    expect(r.images[0].distinctValues).toBeGreaterThan(16);
    return r;
  };

  const buildLog = (r: RunSummary) => r.events.find((e) => e.type === 'log' && e.message.startsWith('onnxruntime-web '));

  it('the browser has WebAssembly.Suspending (Chromium 137+)', async () => {
    expect(await browser!.page.evaluate(() => typeof (WebAssembly as { Suspending?: unknown }).Suspending)).toBe('function');
  });

  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`${backend}: 'auto' runs the JSPI build, a forced asyncify build gives the same image`, async () => {
      onTestFailed(() => browser?.printLogs(`browser log (${backend})`));
      const jspi = await run(`${backend}-jspi`, { modelUrl: DEMO_MODEL_URL, backend });
      expect(jspi.load.ortBuild).toBe('jspi');
      expect(buildLog(jspi)).toMatchObject({ type: 'log', message: expect.stringMatching(/^onnxruntime-web jspi build: WebAssembly\.Suspending exists/) });

      const asyncify = await run(`${backend}-asyncify`, { modelUrl: DEMO_MODEL_URL, backend, ortBuild: 'asyncify' });
      expect(asyncify.load.ortBuild).toBe('asyncify');
      expect(buildLog(asyncify)).toMatchObject({ type: 'log', message: 'onnxruntime-web asyncify build: asyncify build requested' });

      const d = await browser!.page.evaluate(([a, b]) => window.soteWorker!.compare(a, b), [`${backend}-jspi`, `${backend}-asyncify`] as const);
      console.log(`${backend} jspi vs asyncify 8-bit RGB: max |Δ| = ${d.maxDiff}, ${d.differing} of ${d.total} differ`);
      expect(d.maxDiff).toBeLessThanOrEqual(1);
    }, 600_000); // two WebGPU generations on SwiftShader: ~2 min alone, more on a shared CPU
  }

  it('a worker running one build refuses the other by name', async () => {
    // A string, not a function: vitest would rewrite a function's dynamic import for Node.
    const r = (await browser!.page.evaluate(`(async () => {
      const { connectGenerator } = await import('/src/client/protocol.ts');
      const worker = new Worker(new URL('/workers/generator.worker.ts', location.href), { type: 'module' });
      try {
        const client = connectGenerator(worker);
        const first = await client.load({ modelUrl: ${JSON.stringify(DEMO_MODEL_URL)}, backend: 'wasm' });
        const second = await client.load({ modelUrl: ${JSON.stringify(DEMO_MODEL_URL)}, backend: 'wasm', ortBuild: 'asyncify' }).then(() => 'loaded', (e) => e.message);
        return { first: first.ortBuild, second };
      } finally {
        worker.terminate();
      }
    })()`)) as { first: string; second: string };
    expect(r.first).toBe('jspi');
    expect(r.second).toMatch(/already runs onnxruntime-web's jspi build; a different build \(asyncify\) needs a new worker/);
  });
});
