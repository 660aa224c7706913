/**
 * `npm run scale -- --fixture <dir> --out <result.json> [--parts wasm-int4,webgpu-int8,node] [--webgpu-generate] [--measure-workers]
 *  [--reload-checks N] [--node-precisions int8,fp16]`
 *
 * The scale benchmark (not part of npm test): the fixture of `npm run fixture:full` (any --scale) through the
 * whole user path, measured. The fixture's hub folder is served by the store e2e's local hub server
 * (e2e/support/server.ts: Range, tree API with sha256); the app is a production build served by `vite preview`
 * (service worker included). Each part runs in a fresh Chromium profile (or a fresh package folder) that is
 * deleted when the part ends; the result says how much disk each part used.
 *
 * - wasm-int4: install from the descriptor URL through the Models panel (int4); the hub drops the Stage C
 *   connection once, about halfway; generate 256×256 with 4 + 4 steps through window.sote.subscribe on WASM;
 *   then reload offline and generate again from the stored package ('reload' = page load to generating).
 *   With --reload-checks N, N more offline reloads follow, each loading every network from IndexedDB and
 *   decoding a test latent ("Test on this device"): how reliably, and how fast, a stored model loads.
 * - webgpu-int8: the same install (int8) with the WebGPU backend; then the Models panel's "Test on this device":
 *   every network's session created on the (software) adapter and one 256×256 test latent decoded through
 *   Stage A (SwiftShader does about 0.5 GFLOP/s: the 3.6B steps would take hours). With --webgpu-generate a
 *   whole generation instead.
 * - node: the CLI converts the fixture (int8, then fp16) with onnxruntime-node and generates 1024×1536 with
 *   2 + 2 steps; the second step of each stage is the warm step; FLOPs are estimated from the networks' specs.
 *   fp16 runs with sequential residency (one network in memory at a time: at full size onnxruntime's CPU
 *   provider needed more than 23 GiB for Stage C's 7.2 GB of fp16 weights and was killed, README "At full
 *   size"); its outcome is reported, whether or not it completes. --node-precisions picks them.
 *
 * Phases: sampled once a second (summed VmRSS and summed PSS of the browser's processes from /proc, each process
 * once; with --measure-workers also the page's workers' memory incl. the wasm heap from
 * performance.measureUserAgentSpecificMemory — off by default, see scale-browser.ts), named
 * from the Models panel's progress text and the request's log lines.
 */
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { build, preview, type PreviewServer } from 'vite';
import { launchBrowser } from '../e2e/support/browser.ts';
import { REPO_ROOT, startStaticServer, type StaticServer } from '../e2e/support/server.ts';
import { markdownTable, NODE_PRECISIONS, PART_NAMES, type NodePrecision, type PartName, type PartResult, type ScaleContext, type ScaleResult } from './scale-support.ts';
import { runBrowserPart } from './scale-browser.ts';
import { runNodePart } from './scale-node.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fixture: { type: 'string' }, out: { type: 'string' }, parts: { type: 'string' }, 'webgpu-generate': { type: 'boolean' }, 'measure-workers': { type: 'boolean' },
      'reload-checks': { type: 'string' },
      'node-precisions': { type: 'string' },
    },
  });
  if (!values.fixture || !values.out) throw new Error('usage: npm run scale -- --fixture <dir> --out <result.json> [--parts wasm-int4,webgpu-int8,node] [--webgpu-generate] [--measure-workers] [--reload-checks N] [--node-precisions int8,fp16]');
  const reloadChecks = Number(values['reload-checks'] ?? 0);
  if (!Number.isInteger(reloadChecks) || reloadChecks < 0) throw new Error(`--reload-checks takes a whole number ≥ 0, not ${values['reload-checks']}`);
  const nodePrecisions = (values['node-precisions'] ?? NODE_PRECISIONS.join(',')).split(',').map((p) => p.trim()) as NodePrecision[];
  for (const p of nodePrecisions) if (!NODE_PRECISIONS.includes(p)) throw new Error(`unknown node precision ${p} (--node-precisions takes ${NODE_PRECISIONS.join(', ')})`);
  const fixtureDir = resolve(values.fixture);
  const parts = (values.parts ?? PART_NAMES.join(',')).split(',').map((p) => p.trim()) as PartName[];
  for (const p of parts) if (!PART_NAMES.includes(p)) throw new Error(`unknown part ${p} (parts: ${PART_NAMES.join(', ')})`);
  if (!existsSync(join(fixtureDir, 'descriptor.json'))) throw new Error(`${fixtureDir}/descriptor.json not found: write the fixture first (npm run fixture:full -- --to ${fixtureDir})`);
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const started = Date.now();

  const rawDescriptor = JSON.parse(await readFile(join(fixtureDir, 'descriptor.json'), 'utf8')) as ScaleContext['descriptor'] & { source: { hub: string } };
  const fixtureInfo = existsSync(join(fixtureDir, 'fixture.json')) ? JSON.parse(await readFile(join(fixtureDir, 'fixture.json'), 'utf8')) as { scale?: string; totalBytes?: number } : {};
  const stageC = rawDescriptor.source.files.find((f) => f.role === 'stage_c')!;
  const stageCPath = `/${rawDescriptor.source.repo}/resolve/${rawDescriptor.source.revision}/${stageC.path}`;
  const stageCCut = { done: false };
  // The first request that covers the middle of Stage C is cut there (a dropped connection, once per part).
  const hub = await startStaticServer(join(fixtureDir, 'hub'), {
    cutAfterBytes: (path, req) => {
      if (stageCCut.done || path !== stageCPath || !stageC.size) return undefined;
      const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m && m[2] ? Number(m[2]) : stageC.size - 1;
      const half = Math.floor(stageC.size / 2);
      if (start > half || end < half) return undefined;
      stageCCut.done = true;
      log(`hub: dropping the Stage C connection at byte ${half} of ${stageC.size}`);
      return half - start;
    },
  });
  // The descriptor as served: pointing at this hub.
  // Per hub server (two runs may share a fixture): the descriptor file names this run's port.
  const descriptorName = `scale-descriptor-${new URL(hub.origin).port}.json`;
  await writeFile(join(fixtureDir, 'hub', descriptorName), JSON.stringify({ ...rawDescriptor, source: { ...rawDescriptor.source, hub: hub.origin } }));

  let outDir: string | undefined;
  let server: PreviewServer | undefined;
  const results: PartResult[] = [];
  let chromium: string | undefined;
  try {
    const browserParts = parts.filter((p) => p !== 'node');
    if (browserParts.length) {
      outDir = await mkdtemp(join(tmpdir(), 'sote-scale-dist-'));
      const configFile = join(REPO_ROOT, 'vite.config.ts');
      log('building the app (vite build)…');
      await build({ configFile, root: REPO_ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
      server = await preview({ configFile, root: REPO_ROOT, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    }
    const appOrigin = server ? `http://127.0.0.1:${(server.httpServer.address() as AddressInfo).port}` : '';
    const ctx: ScaleContext = { fixtureDir, descriptor: rawDescriptor, descriptorUrl: `${hub.origin}/${descriptorName}`, hub, stageCCut, appOrigin, webgpuGenerate: values['webgpu-generate'] ?? false, measureWorkers: values['measure-workers'] ?? false, reloadChecks, nodePrecisions, log };
    for (const part of parts) {
      log(`part ${part}…`);
      hub.resetCounters();
      stageCCut.done = false;
      const t0 = Date.now();
      let r: PartResult & { chromium?: string };
      try {
        r = part === 'node' ? await runNodePart(ctx) : await runBrowserPart(ctx, part);
      } catch (e) {
        r = { name: part, ok: false, error: e instanceof Error ? e.message : String(e), phases: [], package_bytes: 0, idb_bytes: 0, downloaded_bytes: hub.totalBytesServed(), finite: false, notes: [] };
      }
      if (r.chromium) chromium = r.chromium;
      delete r.chromium;
      r.notes.push(`part wall time ${((Date.now() - t0) / 60000).toFixed(1)} min`);
      results.push(r);
      log(`part ${part}: ${r.ok ? 'ok' : `FAILED: ${r.error}`}`);
      await writeResult(values.out, fixtureDir, fixtureInfo, results, chromium);
    }
  } finally {
    await server?.close();
    await hub.stop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
    await rm(join(fixtureDir, 'hub', descriptorName), { force: true });
  }
  const result = await writeResult(values.out, fixtureDir, fixtureInfo, results, chromium);
  console.log(`\n${markdownTable(result)}\n\nwhole run: ${((Date.now() - started) / 60000).toFixed(1)} min → ${resolve(values.out)}`);
}

async function writeResult(out: string, fixtureDir: string, fixtureInfo: { scale?: string; totalBytes?: number }, parts: PartResult[], chromium: string | undefined): Promise<ScaleResult> {
  const result: ScaleResult = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '', mem_bytes: totalmem(), ...(chromium ? { chromium } : {}), node: process.version },
    command: `npm run scale -- ${process.argv.slice(2).join(' ')}`,
    fixture: { dir: fixtureDir, ...(fixtureInfo.scale ? { scale: fixtureInfo.scale } : {}), ...(fixtureInfo.totalBytes ? { bytes: fixtureInfo.totalBytes } : {}) },
    parts,
  };
  await writeFile(out, JSON.stringify(result, null, 2));
  await writeFile(out.replace(/\.json$/, '') + '.md', markdownTable(result) + '\n');
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(REPO_ROOT, 'scripts/scale.ts')) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    process.exit(1);
  });
}
