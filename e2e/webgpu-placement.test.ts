/**
 * Every node of every graph a generation runs — the tiny networks' step graphs (CLIP, Stage C and B conditioning +
 * step, Stage A decode), the sampler step graphs, the preview and post-processing graphs — is placed on the WebGPU
 * EP, at every precision the adapter supports (SwiftShader has no shader-f16). A node on the CPU inside a GPU
 * session is a GPU→CPU→GPU round trip per call and breaks graph capture. The step also moves no tensor between
 * CPU and GPU beyond its per-step scalars (r, coef) and, for CLIP, its token ids.
 *
 * Placement comes from onnxruntime's own session log (e2e/pages/gpu-graphs.ts), so the test sees what the real
 * EP decided after all graph optimisations, including nodes onnxruntime inserts itself.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startViteServer, type RunningVite } from './support/server.ts';
import { DEMO_COMPONENTS } from '../src/models/demo-model.ts';
import type { Precision } from '../src/models/model-context.ts';
import type { GpuGraphsApi, DimSizes, GraphReport } from './pages/gpu-graphs-api.ts';

/** Small sizes: Stage B needs h, w divisible by patch 2 × 2³ downscales. */
const NETWORK_DIMS: DimSizes = { B: 2, h: 16, w: 16, S: 77, L: 77, he: 4, we: 4, H: 8, W: 8, vocab: 514 };
const WEIGHTLESS_DIMS: DimSizes = { B: 1, B2: 2, C: 16, H: 16, W: 16, W0: 8, W1: 8, RC: 6, P: 32, D: 8 };

/** Graphs with a CPU-placed node, each with its nodes (no exceptions: Stage B's resize-to-skip Gathers are gone). */
function describeCpuNodes(reports: GraphReport[]): string {
  return reports
    .map((r) => {
      const nodes = r.placement.filter((p) => p.ep === 'CPUExecutionProvider').flatMap((p) => p.detail);
      return nodes.length ? `${r.graph}: ${nodes.join(', ')}` : '';
    })
    .filter(Boolean)
    .join('\n');
}

describe('WebGPU node placement', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  let precisions: Precision[] = [];
  beforeAll(async () => {
    vite = await startViteServer();
    browser = await launchBrowser();
    await browser.page.goto(`${vite.origin}/e2e/pages/gpu-graphs.html`);
    await browser.page.waitForFunction(() => (globalThis as unknown as GpuGraphsApi).gpuGraphsReady === true, undefined, { timeout: 120_000 });
    const features = await browser.page.evaluate(() => (globalThis as unknown as GpuGraphsApi).adapterFeatures!());
    // fp16 weights need shader-f16; int8/int4 (MatMulNBits) keep float32 activations and run anywhere.
    precisions = features.includes('shader-f16') ? ['fp32', 'fp16', 'int8', 'int4'] : ['fp32', 'int8', 'int4'];
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('the sampler, preview and post-processing graphs run entirely on WebGPU and move only their scalars', async () => {
    onTestFailed(() => browser?.printLogs());
    const reports = await browser!.page.evaluate((d) => (globalThis as unknown as GpuGraphsApi).profileWeightless!(d), WEIGHTLESS_DIMS);
    expect(reports.length).toBeGreaterThanOrEqual(11);
    expect(describeCpuNodes(reports)).toBe('');
    for (const r of reports) {
      expect(r.placement.map((p) => p.ep), r.graph).toEqual(['WebGpuExecutionProvider']);
      // At most the CPU-fed inputs: a Slice's starts/ends are read on the CPU and never uploaded.
      expect(r.run.uploadBytes, `${r.graph}: CPU→GPU bytes per run`).toBeLessThanOrEqual(r.cpuFeedBytes);
      expect(r.run.readbackBytes, `${r.graph}: GPU→CPU bytes per run`).toBe(0);
    }
    const ddpm = reports.find((r) => r.graph === 'sampler ddpm guided')!;
    expect(ddpm.run.dispatches).toBeGreaterThan(10);
  }, 300_000);

  for (const model of DEMO_COMPONENTS) {
    it(`${model.kind}: every node on WebGPU at each supported precision, per-step transfers = the per-step scalars`, async () => {
      onTestFailed(() => browser?.printLogs());
      expect(precisions).toContain('int4');
      const failures: string[] = [];
      for (const precision of precisions) {
        const reports = await browser!.page.evaluate((c) => (globalThis as unknown as GpuGraphsApi).profileNetwork!(c), { model, precision, dims: NETWORK_DIMS });
        expect(reports.length).toBe(model.kind === 'stage_c' || model.kind === 'stage_b' ? 2 : 1);
        const cpu = describeCpuNodes(reports);
        if (cpu) failures.push(`${precision}: ${cpu}`);
        for (const r of reports) {
          const line = `${precision} ${r.graph}: ${r.run.dispatches} kernels, ${r.run.uploadBytes} B up, ${r.run.readbackBytes} B down`;
          console.log(line);
          expect(r.placement.some((p) => p.ep === 'WebGpuExecutionProvider'), line).toBe(true);
          expect(r.run.dispatches, line).toBeGreaterThan(5);
          expect(r.run.uploadBytes, line).toBeLessThanOrEqual(r.cpuFeedBytes);
          expect(r.run.readbackBytes, line).toBe(0);
        }
      }
      expect(failures.join('\n')).toBe('');
    }, 600_000);
  }
});
