/**
 * The golden Stage C forward, compiled by our TypeScript graph builder inside Chromium and run with
 * onnxruntime-web on WASM and on WebGPU (SwiftShader when there is no GPU), in a module Worker.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { GOLDEN_DIR, needsGolden } from '../src/testing/golden.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';
import type { GoldenEp, GoldenOptions, GoldenResult, GoldenUrls } from './pages/golden.ts';

const FILES = ['stage_c_config.json', 'stage_c_weights.safetensors', 'stage_c_forward.safetensors'];

describe('golden Stage C compiled and run in the browser', needsGolden(...FILES), () => {
  let vite: RunningVite | undefined;
  let files: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let urls: GoldenUrls;

  beforeAll(async () => {
    vite = await startViteServer();
    files = await startStaticServer(GOLDEN_DIR);
    browser = await launchBrowser();
    urls = { config: files.url(FILES[0]), weights: files.url(FILES[1]), forward: files.url(FILES[2]) };
    await browser.page.goto(`${vite.origin}/e2e/pages/golden.html`);
    await browser.page.waitForFunction(() => window.goldenReady === true, undefined, { timeout: 120_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await files?.stop();
    await vite?.stop();
  });

  const run = (ep: GoldenEp, options: GoldenOptions): Promise<GoldenResult> =>
    browser!.page.evaluate(([u, e, o]) => window.goldenStageC!(u, e, o), [urls, ep, { worker: true, ...options }] as const);

  // The default graph (plain MatMul/Softmax attention) on both EPs, and the fused MultiHeadAttention variant
  // on WASM. The fused kernel is wrong on WebGPU (see webgpu-op-accuracy.test.ts), so it is not used there.
  const cases: { ep: GoldenEp; fusedAttention: boolean }[] = [
    { ep: 'wasm', fusedAttention: false },
    { ep: 'wasm', fusedAttention: true },
    { ep: 'webgpu', fusedAttention: false },
  ];
  for (const { ep, fusedAttention } of cases) {
    const label = `${ep}, ${fusedAttention ? 'fused' : 'plain'} attention`;
    it(`matches the PyTorch output on ${label}`, async () => {
      onTestFailed(() => browser?.printLogs(`browser log (${label})`));
      files!.resetCounters();
      const r = await run(ep, { fusedAttention });
      const adapter = r.adapter ? ` adapter ${r.adapter.vendor}/${r.adapter.architecture}${r.adapter.isFallbackAdapter ? ' (fallback)' : ''}` : '';
      console.log(
        `stage_c in-browser ${label} (${r.context}, isolated=${r.crossOriginIsolated}, wasm threads ${r.wasmThreads})${adapter}: ` +
          `max|diff|/max|ref| = ${r.rel.toExponential(2)} (max|diff| ${r.maxAbs.toExponential(2)}); ` +
          `build ${r.ms.build.toFixed(0)} ms, session ${r.ms.session.toFixed(0)} ms, run ${r.ms.run.toFixed(0)} ms`,
      );
      expect(r.context).toBe('worker');
      expect(r.crossOriginIsolated).toBe(true);
      // The golden files were read with Range requests only, never downloaded whole.
      expect(files!.requests.filter((q) => q.path.endsWith('.safetensors') && q.status !== 206)).toEqual([]);
      expect(files!.bytesServed(FILES[1])).toBeGreaterThan(0);
      expect(r.rel).toBeLessThanOrEqual(1e-4);
    });
  }
});
