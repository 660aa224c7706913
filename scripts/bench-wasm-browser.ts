/**
 * The browser column of `npm run bench` (spawned by src/cli/commands/bench.ts as a child process; the CLI layer
 * does not import the e2e tooling): one bench case on onnxruntime-web's WASM EP in headless Chromium, in a
 * dedicated worker loaded the way the app's generator worker loads onnxruntime-web (e2e/pages/bench-wasm*.ts):
 * cross-origin isolated (vite.config.ts's COOP/COEP), the app's thread count (wasmThreadCount), and again with
 * one thread for the like-for-like comparison with onnxruntime-node on one thread.
 *
 * Usage: tsx scripts/bench-wasm-browser.ts --case <bench case> [--full]
 * Prints one line `BENCH_RESULT {…}` (bench.ts's ChildResult shape with backend 'browser').
 */
import { execFileSync } from 'node:child_process';
import { chromiumPath, launchBrowser } from '../e2e/support/browser.ts';
import { startViteServer } from '../e2e/support/server.ts';
import type { BenchWasmApi, BenchWasmRequest, BenchWasmResult } from '../e2e/pages/bench-wasm-api.ts';
import { benchCases, inputSizes } from '../src/cli/commands/bench.ts';
import { peerCaseName } from '../src/cli/bench-peer.ts';

const RESULT_MARK = 'BENCH_RESULT ';

function parseArgs(argv: string[]): { caseName: string; full: boolean } {
  let caseName: string | undefined;
  let full = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--case') caseName = argv[++i];
    else if (argv[i] === '--full') full = true;
    else throw new Error(`unknown option ${argv[i]}; usage: tsx scripts/bench-wasm-browser.ts --case <name> [--full]`);
  }
  if (!caseName) throw new Error('--case <bench case> is required');
  return { caseName, full };
}

const { caseName, full } = parseArgs(process.argv.slice(2));
const c = benchCases().cases.find((x) => x.name === caseName);
if (!c) throw new Error(`unknown bench case ${caseName}`);
const sizes = inputSizes(c.model);

const vite = await startViteServer();
const browser = await launchBrowser();
try {
  await browser.page.goto(`${vite.origin}/e2e/pages/bench-wasm.html`);
  await browser.page.waitForFunction(() => (globalThis as unknown as BenchWasmApi).benchWasmReady === true, undefined, { timeout: 120_000 });
  const request = (threads: number | undefined): BenchWasmRequest => ({
    model: c.model,
    sizes: sizes.map((s) => ({ label: s.label, shapes: s.shapes })),
    threads,
    warmups: full ? 2 : 1,
    runs: full ? 7 : 3,
    coldLimitMs: full ? Number.POSITIVE_INFINITY : 10_000,
  });
  const run = (threads: number | undefined) =>
    browser.page.evaluate((r) => (globalThis as unknown as BenchWasmApi).benchWasm!(r), request(threads)) as Promise<BenchWasmResult>;
  const app = await run(undefined);
  const results = app.threads > 1 ? [await run(1), app] : [app];
  const timings = results.flatMap((r) => r.sizes.map((s, i) => ({
    label: s.label,
    caseName: peerCaseName(c.name, sizes[i].shapes),
    threads: r.threads,
    sessionMs: r.sessionMs,
    warmups: s.warmups,
    runsMs: s.runsMs,
    note: s.warmups === 0 ? 'one cold run (no warm-up): slow case' : r === app && app.threads > 1 ? 'the app\'s thread count' : '',
  })));
  // The user agent says 156.0.0.0 (reduced UA); the binary knows its full version.
  const chromium = /([\d.]+)/.exec(execFileSync(chromiumPath(), ['--version'], { encoding: 'utf8' }))?.[1] ?? /Chrome\/([\d.]+)/.exec(app.userAgent)?.[1] ?? 'unknown';
  console.log(RESULT_MARK + JSON.stringify({
    name: c.name,
    backend: 'browser',
    compileMs: app.compileMs,
    rssBeforeMiB: Number.NaN,
    maxRssMiB: Number.NaN,
    timings,
    wasm: {
      threads: app.threads, simd: app.simd, crossOriginIsolated: app.crossOriginIsolated, hardwareConcurrency: app.hardwareConcurrency,
      build: app.build, chromium,
    },
  }));
} catch (e) {
  browser.printLogs('bench-wasm-browser');
  throw e;
} finally {
  await browser.close();
  await vite.stop();
}
