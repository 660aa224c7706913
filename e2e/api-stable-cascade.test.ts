/**
 * The second endpoint through the real worker (e2e/pages/api.html: window.sote installed as an app would, with the
 * tiny demo model given explicitly, on WASM): a request to `fal-ai/stable-cascade` with only a prompt gets that
 * endpoint's defaults (square_hd = 1024×1024, 20 Stage C steps at CFG 4, 10 Stage B steps at CFG 4), while
 * sote-diffusion keeps its own; unknown ids still reject with UnknownEndpointError listing both.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type {} from '../src/client/sote.ts';
import type {} from './pages/api.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { REPO_ROOT, startViteServer, type RunningVite } from './support/server.ts';

describe('fal-ai/stable-cascade (window.sote, demo model on WASM)', () => {
  let vite: RunningVite | undefined;
  let browser: BrowserSession | undefined;
  const page = () => browser!.page;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/build-demo-model.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
    vite = await startViteServer();
    browser = await launchBrowser();
    await page().goto(`${vite.origin}/e2e/pages/api.html`);
    await page().waitForFunction(() => window.soteApiReady === true, undefined, { timeout: 120_000 });
    await page().evaluate(() => window.sote!.ready);
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
  });

  it('a prompt-only request gets square_hd, 20 steps at CFG 4 and 10 Stage B steps; sote-diffusion keeps 25/8/10/2', async () => {
    onTestFailed(() => browser?.printLogs('browser log (stable-cascade defaults)'));
    const r = await page().evaluate(async () => {
      const { inspectPng } = window.soteApiTest!;
      const sote = window.sote!;
      const base = await sote.subscribe('fal-ai/stable-cascade', { input: { prompt: 'a lighthouse at dusk', seed: 5 }, logs: true });
      const status = await sote.queue.status('fal-ai/stable-cascade', { requestId: base.requestId, logs: true });
      const logs = status.status === 'COMPLETED' ? status.logs.map((l) => l.message) : [];
      // sote-diffusion at a small size: only its step/CFG defaults matter here.
      const sd = await sote.subscribe('fal-ai/stable-cascade/sote-diffusion', { input: { prompt: 'a lighthouse at dusk', seed: 5, image_size: { width: 256, height: 256 } } });
      return {
        image: { width: base.data.images[0].width, height: base.data.images[0].height },
        png: await inspectPng(base.data.images[0].url),
        seed: base.data.seed,
        stepLogs: logs.filter((m) => / step \d+\/\d+ /.test(m)).map((m) => m.replace(/ \(\d+ ms\)$/, '')),
        sotePng: (await inspectPng(sd.data.images[0].url)).parameters,
      };
    });
    expect(r.image).toEqual({ width: 1024, height: 1024 });
    expect([r.png.width, r.png.height]).toEqual([1024, 1024]);
    expect(r.seed).toBe(5);
    expect(r.png.parameters).toMatchObject({ steps: 20, cfgScale: 4, secondStageSteps: 10, secondStageCfgScale: 4, width: 1024, height: 1024 });
    const stageC = r.stepLogs.filter((m) => m.startsWith('Stage C'));
    const stageB = r.stepLogs.filter((m) => m.startsWith('Stage B'));
    expect(stageC.at(-1)).toBe('Stage C (prior) step 20/20');
    expect(stageB.at(-1)).toBe('Stage B (decoder) step 10/10');
    expect(r.sotePng).toMatchObject({ steps: 25, cfgScale: 8, secondStageSteps: 10, secondStageCfgScale: 2, width: 256, height: 256 });
  });

  it('validates with that endpoint\'s bounds, and an unknown id names both endpoints', async () => {
    const r = await page().evaluate(async () => {
      const { describeError } = window.soteApiTest!;
      const sote = window.sote!;
      const tooMany = await sote.queue.submit('fal-ai/stable-cascade', { input: { prompt: 'x', first_stage_steps: 45 } }).then(() => undefined, (e: unknown) => describeError(e));
      const unknown = await sote.queue.submit('fal-ai/stable-cascade/lite', { input: { prompt: 'x' } }).then(() => undefined, (e: unknown) => describeError(e));
      return { tooMany, unknown, requests: (await sote.listRequests()).length };
    });
    expect(r.tooMany).toMatchObject({ name: 'ValidationError', status: 422, body: { detail: [{ loc: ['body', 'first_stage_steps'], type: 'less_than_equal' }] } });
    expect(r.unknown).toMatchObject({ name: 'UnknownEndpointError', status: 404, body: { known: ['fal-ai/stable-cascade/sote-diffusion', 'fal-ai/stable-cascade'] } });
    expect(r.requests).toBe(2); // only the two generations of the first test
  });
});
