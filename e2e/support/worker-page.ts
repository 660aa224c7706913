/**
 * The generator worker's test page (e2e/pages/worker.html) served by Vite in a fresh headless Chromium, and the
 * demo request the worker tests share. Tests that drive `window.soteWorker` start here.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { GenerationRequest } from '../../src/pipeline/text-to-image.ts';
import { launchBrowser, type BrowserSession } from './browser.ts';
import { REPO_ROOT, startViteServer, type RunningVite } from './server.ts';
// The page's Window globals (soteWorker, soteWorkerReady) are declared there.
export type { RunSummary } from '../pages/worker.ts';

/** The tiny demo package as the Vite server serves it (public/models/tiny-demo). */
export const DEMO_MODEL_URL = '/models/tiny-demo/';

/** A 256×256 request on the demo model with 2 + 2 steps: seconds on WASM, a few minutes on SwiftShader. */
export const DEMO_REQUEST: GenerationRequest = {
  prompt: 'newest, extremely aesthetic, best quality, 1girl, solo',
  negativePrompt: 'worst quality',
  width: 256,
  height: 256,
  seed: 20241123,
  stageC: { steps: 2, cfg: 4 },
  stageB: { steps: 2, cfg: 1.1 },
};

/** Rebuilds public/models/tiny-demo from the current graph code, so a test never runs a stale package. */
export function buildDemoModel(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/build-demo-model.ts')], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/** Starts Vite and Chromium and waits until the page's worker answers; stops what it started if that fails. */
export async function openWorkerPage(): Promise<{ vite: RunningVite; browser: BrowserSession }> {
  const vite = await startViteServer();
  let browser: BrowserSession | undefined;
  try {
    browser = await launchBrowser();
    await browser.page.goto(`${vite.origin}/e2e/pages/worker.html`);
    await browser.page.waitForFunction(() => window.soteWorkerReady === true, undefined, { timeout: 120_000 });
    return { vite, browser };
  } catch (e) {
    await browser?.close();
    await vite.stop();
    throw e;
  }
}
