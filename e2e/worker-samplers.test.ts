/**
 * The k-diffusion samplers through the generator worker in headless Chromium, on WebGPU (SwiftShader without a
 * GPU) and on WASM: DPM++ 2M (sgm_uniform, guided) for Stage C and LCM (exponential, CFG 1: conditional rows
 * only) for Stage B on the demo model. Both backends must give the same 8-bit image (max |Δ| ≤ 1 level, as in
 * worker-generate), with one read-back, and a different image than the default DDPM sampler.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { GenerationRequest } from '../src/pipeline/text-to-image.ts';
import type { BrowserSession } from './support/browser.ts';
import type { RunningVite } from './support/server.ts';
import { DEMO_MODEL_URL, DEMO_REQUEST, openWorkerPage } from './support/worker-page.ts';

const DDPM: GenerationRequest = { ...DEMO_REQUEST, stageC: { steps: 3, cfg: 6 }, stageB: { steps: 3, cfg: 1 } };
const RECOMMENDED: GenerationRequest = {
  ...DDPM,
  stageC: { steps: 3, cfg: 6, sampler: { method: 'dpmpp_2m', schedule: 'sgm_uniform' } },
  stageB: { steps: 3, cfg: 1, sampler: { method: 'lcm', schedule: 'exponential' } },
};

describe('generator worker: DPM++ 2M + LCM on WebGPU and WASM', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    ({ vite, browser } = await openWorkerPage());
  });
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  const run = (label: string, backend: 'webgpu' | 'wasm', request: GenerationRequest) =>
    browser!.page.evaluate(([l, load, req]) => window.soteWorker!.run(l, load, req), [label, { modelUrl: DEMO_MODEL_URL, backend }, request] as const);

  it('WebGPU and WASM give the same image with one read-back; it is not the DDPM image', async () => {
    onTestFailed(() => browser?.printLogs('browser log (samplers)'));
    for (const backend of ['wasm', 'webgpu'] as const) {
      const r = await run(backend, backend, RECOMMENDED);
      console.log(`${backend}: generate ${r.generateMs.toFixed(0)} ms, ${r.steps} step events, readbacks ${r.readbacks}, ${r.images[0].distinctValues} distinct values`);
      expect(r.backend).toBe(backend);
      expect(r.readbacks).toBe(1);
      expect(r.steps).toBe(6);
      expect(r.images[0].distinctValues).toBeGreaterThan(16);
    }
    const d = await browser!.page.evaluate(() => window.soteWorker!.compare('webgpu', 'wasm'));
    console.log(`webgpu vs wasm (DPM++ 2M + LCM): max |Δ| = ${d.maxDiff}, ${d.differing} of ${d.total} differ`);
    expect(d.maxDiff).toBeLessThanOrEqual(1);
    await run('ddpm', 'wasm', DDPM);
    const vsDdpm = await browser!.page.evaluate(() => window.soteWorker!.compare('ddpm', 'wasm'));
    expect(vsDdpm.differing).toBeGreaterThan(0);
  });
});
