/**
 * The model store end to end in headless Chromium, against a local "hub": a static server holding a tiny model
 * in SoteDiffusion V2's published layout (`<repo>/resolve/<revision>/` + the four single-file names, F16 like
 * the real ones and F32 Stage A, plus tokenizer/ and the tree API listing), built in beforeAll from the demo
 * configs and randomWeightSource. The page (e2e/pages/store.ts, served by the Vite dev server) installs it into
 * IndexedDB and generates from the stored package on WASM.
 *
 * Safety checker: two more repos hold the tiny ViT of src/models/tiny-classifier.ts in Falconsai's published
 * layout (config.json, preprocessor_config.json, model.safetensors), built with thresholds that make its
 * decision certain for any image — test/nsfw-flag-all (−1.25: P(nsfw) > 0.88 even for black) and
 * test/nsfw-flag-none (+1.25: P(nsfw) < 0.12 even for white). Models installed with one of them generate
 * through the real generator worker, which loads the converted checker from IndexedDB via transformers.js.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { startStaticServer, startViteServer, type RunningVite, type StaticServer } from './support/server.ts';
import type { InstallSummary, StoreCounts, WorkerRunSummary } from './pages/store.ts';
import { buildFixture, buildSafetyFixture, descriptor, FILE_NAMES, publish, REVISION, sha256, type Fixture } from './support/hub-fixture.ts';
import { TINY_NSFW_GAIN, tinyNsfwProbability } from '../src/models/tiny-classifier.ts';

const SLICE = 16 * 1024;
const FLAG_ALL = { repo: 'test/nsfw-flag-all', threshold: -1.25 };
const FLAG_NONE = { repo: 'test/nsfw-flag-none', threshold: 1.25 };
const SAFETY_PATHS = ['safety/config.json', 'safety/onnx/model.onnx', 'safety/onnx/model.onnx_data', 'safety/preprocessor_config.json'];

describe('model store (IndexedDB) with a local hub', () => {
  let vite: RunningVite | undefined;
  let hub: StaticServer | undefined;
  let browser: BrowserSession | undefined;
  let root = '';
  let files: Fixture[] = [];
  let flagAll: Fixture[] = [];
  let flagNone: Fixture[] = [];
  /** Per-request cut-off rule the tests switch on and off. */
  let cut: ((path: string, range: string | undefined) => number | undefined) | undefined;

  const page = () => browser!.page;
  const install = (d: unknown, options: Record<string, unknown> = {}) =>
    page().evaluate(([dd, o]) => window.soteStore!.install(dd, o), [d, { precision: 'fp32', sliceBytes: SLICE, parallel: 3, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, ...options }] as const) as Promise<InstallSummary>;
  const counts = () => page().evaluate(() => window.soteStore!.counts()) as Promise<StoreCounts>;
  const estimate = () => page().evaluate(() => window.soteStore!.estimate());
  const reload = async () => {
    await page().reload();
    await page().waitForFunction(() => window.soteStoreReady === true);
  };
  const served = (repo: string, path: string) => hub!.bytesServed(`/${repo}/resolve/${REVISION}/${path}`);
  const storedPaths = (id: string) => page().evaluate((m) => window.soteStore!.storedPaths(m), id);
  const generateInWorker = (id: string, runs: boolean[]) => page().evaluate(([m, r]) => window.soteStore!.generateInWorker(m, r), [id, runs] as const) as Promise<WorkerRunSummary[]>;
  const size = (path: string) => files.find((f) => f.path === path)!.bytes.length;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-store-hub-'));
    files = await buildFixture();
    await publish(root, 'test/tiny-sote', files);
    await publish(root, 'test/tiny-corrupt', files, { path: FILE_NAMES.stage_b, at: 5000 });
    flagAll = await buildSafetyFixture(FLAG_ALL.threshold);
    flagNone = await buildSafetyFixture(FLAG_NONE.threshold);
    await publish(root, FLAG_ALL.repo, flagAll);
    await publish(root, FLAG_NONE.repo, flagNone);
    hub = await startStaticServer(root, { cutAfterBytes: (path, req) => cut?.(path, req.headers.range) });
    vite = await startViteServer();
    // expose-gc: see releaseExports (the delete test measures freed space).
    browser = await launchBrowser({ args: ['--js-flags=--expose-gc'] });
    await browser.context.browser()?.newBrowserCDPSession().then((b) => b.send('Browser.grantPermissions', { permissions: ['durableStorage'], origin: vite!.origin })).catch(() => undefined);
    await page().goto(`${vite.origin}/e2e/pages/store.html`);
    await page().waitForFunction(() => window.soteStoreReady === true, undefined, { timeout: 120_000 });
    console.log(`fixture: ${files.map((f) => `${f.path} ${f.bytes.length} B`).join(', ')}`);
  });

  afterAll(async () => {
    await browser?.close();
    await vite?.stop();
    await hub?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('downloads, verifies, converts while downloading, lists, and generates from IndexedDB', async () => {
    onTestFailed(() => browser?.printLogs());
    hub!.resetCounters();
    const r = await install(descriptor(hub!.origin, 'test/tiny-sote', 'tiny-sote', files), { parallel: 1 });
    expect(r.error).toBeUndefined();
    expect(r.id).toBe('tiny-sote@fp32');
    // Each checkpoint byte was served exactly once (sizes and hashes known ⇒ no probe).
    for (const f of files.filter((x) => x.path !== 'tokenizer/merges.txt')) expect(served('test/tiny-sote', f.path)).toBe(f.bytes.length);
    // merges.txt: 1-byte probe (size unknown) + the file; its git blob id came from the tree API.
    expect(served('test/tiny-sote', 'tokenizer/merges.txt')).toBe(1 + size('tokenizer/merges.txt'));
    expect(hub!.requests.some((q) => q.path === `/api/models/test/tiny-sote/tree/${REVISION}`)).toBe(true);
    const verify = r.events.filter((e) => e.type === 'verify');
    expect(verify).toHaveLength(files.length);
    expect(verify.every((e) => e.type === 'verify' && e.ok)).toBe(true);
    expect(verify.find((e) => e.type === 'verify' && e.file === 'tokenizer/merges.txt')).toMatchObject({ algorithm: 'git-sha1' });
    // Typed progress: the overall total is every file's bytes; the last download event has it all done.
    const total = files.reduce((a, f) => a + f.bytes.length, 0);
    const downloads = r.events.filter((e) => e.type === 'download');
    const last = downloads.at(-1)!;
    expect(last.type === 'download' && last.overall).toMatchObject({ bytesDone: total, bytesTotal: total });
    // Converting overlaps downloading: the first conversion event comes before Stage C's last slice landed.
    const types = r.events.map((e) => e.type);
    const firstConvert = types.indexOf('convert');
    const lastDownload = types.lastIndexOf('download');
    console.log(`overlap: first convert event #${firstConvert}, last download event #${lastDownload} of ${types.length}`);
    expect(firstConvert).toBeLessThan(lastDownload);
    expect(r.events.filter((e) => e.type === 'component-done').map((e) => e.type === 'component-done' && e.kind).sort()).toEqual(['clip_text', 'stage_a', 'stage_b', 'stage_c']);
    const quota = r.events.find((e) => e.type === 'quota');
    console.log(`install: ${r.ms.toFixed(0)} ms, ${downloads.length} download events, ${total} B downloaded, package ${r.bytes} B; quota event ${JSON.stringify(quota)}`);
    expect(quota).toMatchObject({ type: 'quota', persisted: true });
    // Raw slices and download records are gone; the model is listed.
    const c = await counts();
    expect(c).toMatchObject({ slices: 0, downloads: 0, installs: 0, models: 1 });
    expect(await page().evaluate(() => window.soteStore!.list())).toEqual([{ id: 'tiny-sote@fp32', name: 'Tiny published-layout model (tiny-sote)', precision: 'fp32', bytes: r.bytes }]);
    const v = await page().evaluate(() => window.soteStore!.verify('tiny-sote@fp32'));
    expect(v.problems).toEqual([]);
    const img = await page().evaluate(() => window.soteStore!.generate('tiny-sote@fp32'));
    console.log(`generated from IndexedDB: ${JSON.stringify(img)}`);
    expect(img).toMatchObject({ width: 256, height: 256, readbacks: 1 });
    expect(img.distinctValues).toBeGreaterThan(16);
    // Installing again is a no-op (already listed): nothing is fetched.
    hub!.resetCounters();
    const again = await install(descriptor(hub!.origin, 'test/tiny-sote', 'tiny-sote', files));
    expect(again.id).toBe('tiny-sote@fp32');
    expect(hub!.totalBytesServed()).toBe(0);
  });

  it('exports a .tar, imports it under another id, re-verify catches a corrupted stored byte', async () => {
    onTestFailed(() => browser?.printLogs());
    const ex = await page().evaluate(() => window.soteStore!.exportTar('tiny-sote@fp32'));
    expect(ex.type).toBe('application/x-tar');
    const im = await page().evaluate(() => window.soteStore!.importTar('tiny-sote@fp32', 'copy@fp32'));
    expect(im).toMatchObject({ ok: true, id: 'copy@fp32' });
    console.log(`export: ${ex.bytes} B tar; import: ${im.bytes} B package`);
    expect((await page().evaluate(() => window.soteStore!.verify('copy@fp32'))).problems).toEqual([]);
    await page().evaluate(() => window.soteStore!.corruptStored('copy@fp32', 'stage_b.onnx.data.0'));
    const v = await page().evaluate(() => window.soteStore!.verify('copy@fp32'));
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toMatchObject({ name: 'IntegrityError', detail: { file: 'copy@fp32/stage_b.onnx.data.0', algorithm: 'sha256' } });
    await page().evaluate(() => window.soteStore!.remove('copy@fp32'));
  });

  it('a dropped connection mid-file fails resumably; after a reload the install resumes without re-fetching finished slices', async () => {
    onTestFailed(() => browser?.printLogs());
    const repo = 'test/tiny-sote';
    const id = 'tiny-resume';
    const stageC = FILE_NAMES.stage_c;
    const cutFrom = 8 * SLICE;
    // Every request for Stage C at or past slice 8 is cut after 1000 body bytes (connection dropped).
    cut = (path, range) => (path.endsWith(stageC) && Number(/bytes=(\d+)/.exec(range ?? '')?.[1] ?? 0) >= cutFrom ? 1000 : undefined);
    hub!.resetCounters();
    // With a safety checker: its files are queued right after the tokenizer, so it is converted (and noted in the
    // install record) long before Stage C's connection drops.
    const withChecker = () => descriptor(hub!.origin, repo, id, files, { repo: FLAG_ALL.repo, files: flagAll });
    const first = await install(withChecker());
    expect(first.ok).toBe(false);
    expect(first.error).toMatchObject({ name: 'DownloadError', detail: { resumable: true } });
    const servedFirst = Object.fromEntries(files.map((f) => [f.path, served(repo, f.path)]));
    const before = await counts();
    const key = `${repo}@${REVISION}/${stageC}`;
    const storedSlices = before.slicesPerFile[key] ?? 0;
    expect(storedSlices).toBe(8); // slices 0–7 landed; 8+ were cut
    expect(before.installs).toBe(1); // the install record keeps converted components for the resume
    cut = undefined;
    await reload(); // a closed tab / reload: nothing in memory survives
    hub!.resetCounters();
    const second = await install(withChecker());
    expect(second.error).toBeUndefined();
    expect(second.id).toBe(`${id}@fp32`);
    const servedSecond = Object.fromEntries(files.map((f) => [f.path, served(repo, f.path)]));
    console.log(`resume: first attempt served ${JSON.stringify(servedFirst)}; ${storedSlices} Stage C slices (${storedSlices * SLICE} B) kept; second attempt served ${JSON.stringify(servedSecond)}`);
    // Stage C: exactly the bytes of the slices that were not stored.
    expect(servedSecond[stageC]).toBe(size(stageC) - storedSlices * SLICE);
    const resumeEvent = second.events.find((e) => e.type === 'download' && e.file === stageC);
    expect(resumeEvent).toMatchObject({ resumedBytes: storedSlices * SLICE });
    // Files that were complete (and converted) before the cut are not fetched again at all.
    for (const f of files) {
      if (f.path !== stageC && servedFirst[f.path] >= f.bytes.length) expect(servedSecond[f.path]).toBe(0);
    }
    // The safety checker was converted in the first attempt: the resume fetches none of its files.
    expect(first.events.some((e) => e.type === 'component-done' && e.kind === 'safety_checker')).toBe(true);
    expect(second.events.some((e) => e.type === 'component-done' && e.kind === 'safety_checker')).toBe(false);
    for (const f of flagAll) {
      expect(served(FLAG_ALL.repo, f.path)).toBe(0);
    }
    expect((await storedPaths(`${id}@fp32`)).filter((p) => p.startsWith('safety/'))).toEqual(SAFETY_PATHS);
    expect(await counts()).toMatchObject({ slices: 0, downloads: 0, installs: 0, models: 2 });
    expect((await page().evaluate((m) => window.soteStore!.verify(m), `${id}@fp32`)).problems).toEqual([]);
  });

  it('one corrupted byte → IntegrityError naming file, expected and actual; nothing of the model is stored', async () => {
    onTestFailed(() => browser?.printLogs());
    const repo = 'test/tiny-corrupt';
    const before = await counts();
    const r = await install(descriptor(hub!.origin, repo, 'tiny-corrupt', files));
    const good = files.find((f) => f.path === FILE_NAMES.stage_b)!;
    const badBytes = Uint8Array.from(good.bytes);
    badBytes[5000] ^= 1;
    expect(r.error).toMatchObject({ name: 'IntegrityError', detail: { file: FILE_NAMES.stage_b, expected: good.sha256, actual: sha256(badBytes), algorithm: 'sha256' } });
    const after = await counts();
    console.log(`integrity: ${r.error!.message}; store before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    expect(after.models).toBe(before.models);
    expect(after.files).toBe(before.files); // no package file of tiny-corrupt@fp32
    expect(after.installs).toBe(0);
    expect(after.slicesPerFile[`${repo}@${REVISION}/${FILE_NAMES.stage_b}`]).toBeUndefined();
    expect(await page().evaluate(() => window.soteStore!.list().then((l) => l.map((m) => m.id)))).not.toContain('tiny-corrupt@fp32');
  });

  it('delete frees the space (estimate().usage drops) and unlists the model', async () => {
    onTestFailed(() => browser?.printLogs());
    const list = await page().evaluate(() => window.soteStore!.list());
    const target = list.find((m) => m.id === 'tiny-sote@fp32')!;
    await page().evaluate(() => window.soteStore!.releaseExports());
    const u0 = (await estimate()).usage;
    await page().evaluate(() => window.soteStore!.remove('tiny-sote@fp32'));
    // Chromium accounts IndexedDB blob files when they are unlinked; give it a moment.
    let u1 = (await estimate()).usage;
    for (let i = 0; i < 20 && u1 >= u0; i++) {
      await new Promise((ok) => setTimeout(ok, 250));
      u1 = (await estimate()).usage;
    }
    console.log(`delete: usage ${u0} → ${u1} B (package ${target.bytes} B)`);
    expect(u1).toBeLessThan(u0);
    expect((await page().evaluate(() => window.soteStore!.list())).map((m) => m.id)).not.toContain('tiny-sote@fp32');
  });

  /** The P(nsfw) that a safety-image event reports, back in mean-pixel_value units: logit/GAIN + threshold. */
  const pixelValueFromP = (p: number, threshold: number) => Math.log(p / (1 - p)) / TINY_NSFW_GAIN + threshold;
  const pixelValue = (meanLevel: number) => (meanLevel / 255 - 0.5) / 0.5;
  const safetyImage = (run: WorkerRunSummary) => run.safetyEvents.find((e) => e.type === 'safety-image');
  /** What the flag-all checker saw of the image (its mean pixel_value after the processor's resize), and the image's own mean. */
  let flaggedSeen: { pixelValue: number; meanLevel: number } | undefined;

  it('installs the safety checker with the model (its own repo, verified by descriptor sha256 and the tree API, converted into safety/); enable_safety_checker true runs it from IndexedDB, false never touches it', async () => {
    onTestFailed(() => browser?.printLogs());
    const id = 'tiny-flagged';
    const before = await counts(); // the corrupt-install test leaves its verified downloads for a retry
    hub!.resetCounters();
    const r = await install(descriptor(hub!.origin, 'test/tiny-sote', id, files, { repo: FLAG_ALL.repo, files: flagAll }));
    expect(r.error).toBeUndefined();
    expect(r.id).toBe(`${id}@fp32`);
    const size = (path: string) => flagAll.find((f) => f.path === path)!.bytes.length;
    // config.json: size + sha256 in the descriptor (no probe); the other two: a 1-byte probe, then the file.
    expect(served(FLAG_ALL.repo, 'config.json')).toBe(size('config.json'));
    expect(served(FLAG_ALL.repo, 'preprocessor_config.json')).toBe(1 + size('preprocessor_config.json'));
    expect(served(FLAG_ALL.repo, 'model.safetensors')).toBe(1 + size('model.safetensors'));
    expect(hub!.requests.some((q) => q.path === `/api/models/${FLAG_ALL.repo}/tree/${REVISION}`)).toBe(true);
    const verify = r.events.filter((e) => e.type === 'verify' && e.file.startsWith(`${FLAG_ALL.repo}/`));
    console.log(`checker verification: ${JSON.stringify(verify)}`);
    expect(verify.map((e) => e.type === 'verify' && [e.file, e.algorithm, e.ok]).sort()).toEqual([
      [`${FLAG_ALL.repo}/config.json`, 'sha256', true],
      [`${FLAG_ALL.repo}/model.safetensors`, 'sha256', true], // lfs.oid from the tree API
      [`${FLAG_ALL.repo}/preprocessor_config.json`, 'git-sha1', true], // git blob id from the tree API
    ]);
    const expectedDigest = (path: string) => verify.find((e) => e.type === 'verify' && e.file === `${FLAG_ALL.repo}/${path}`);
    expect(expectedDigest('model.safetensors')).toMatchObject({ expected: flagAll.find((f) => f.path === 'model.safetensors')!.sha256 });
    expect(new Set(r.events.flatMap((e) => (e.type === 'download' && e.role === 'safety_checker' ? [e.file] : []))))
      .toEqual(new Set(flagAll.map((f) => `${FLAG_ALL.repo}/${f.path}`)));
    expect(r.events.filter((e) => e.type === 'component-done').map((e) => e.type === 'component-done' && e.kind).sort())
      .toEqual(['clip_text', 'safety_checker', 'stage_a', 'stage_b', 'stage_c']);
    expect(await counts()).toMatchObject({ slices: before.slices, downloads: before.downloads, installs: 0 });

    // The package holds the converted checker and the manifest lists (and counts) it.
    const stored = await storedPaths(`${id}@fp32`);
    expect(stored.filter((p) => p.startsWith('safety/'))).toEqual(SAFETY_PATHS);
    const m = (await page().evaluate((x) => window.soteStore!.manifest(x), `${id}@fp32`))!;
    expect(m.safetyChecker).toMatchObject({ modelId: FLAG_ALL.repo, revision: REVISION });
    expect(m.safetyChecker!.files.map((f) => f.path).sort()).toEqual(SAFETY_PATHS);
    const checkerBytes = m.safetyChecker!.files.reduce((a, f) => a + f.bytes, 0);
    console.log(`checker in the package: ${JSON.stringify(m.safetyChecker!.files)}; package ${m.totalBytes} B`);
    expect(m.totalBytes).toBe(r.bytes);
    expect(m.totalBytes).toBeGreaterThan(checkerBytes);
    // Re-verify covers every listed file, the checker's included (manifest.json itself is not listed).
    const v = await page().evaluate((x) => window.soteStore!.verify(x), `${id}@fp32`);
    expect(v.problems).toEqual([]);
    expect(v.files).toBe(stored.length - 1);

    // One worker, same seed: disabled first (nothing of the checker is read), then enabled.
    const runs = await generateInWorker(`${id}@fp32`, [false, true]);
    console.log(`worker runs: ${JSON.stringify(runs.map((x) => ({ ...x, storeReads: x.storeReads.length })))}`);
    console.log(`store reads while loading the checker:\n  ${runs[1].storeReads.join('\n  ')}`);
    const [off, on] = runs;
    expect(off).toMatchObject({ ok: true, hasNsfwConcepts: [false], image: { width: 256, height: 256, allZero: false } });
    expect(off.image!.distinctValues).toBeGreaterThan(16);
    expect(off.safetyEvents).toEqual([{ type: 'safety-disabled', images: 1 }]);
    expect(off.storeReads).toEqual([]);
    expect(off.timings!.safety_checker).toBeUndefined();
    // The JSPI build read every network's stored Blobs through the watched streams (src/engine/watched-blob.ts),
    // slice by slice (the asyncify build reads them with Blob.arrayBuffer(), unwatched, and reports 0 bytes).
    // Not quite all bytes: onnxruntime never reads the initializers its graph optimizations removed (here
    // 0.5–0.9 % of Stage B's and Stage A's).
    expect(off.ortBuild).toBe('jspi');
    expect(off.sessionReads.map((r) => r.component).sort()).toEqual(['clip_text', 'stage_a', 'stage_b', 'stage_c']);
    for (const r of off.sessionReads) {
      expect(r.loadedBytes, r.component).toBeLessThanOrEqual(r.totalBytes);
      expect(r.loadedBytes, r.component).toBeGreaterThan(0.95 * r.totalBytes);
    }

    expect(on.error).toBeUndefined();
    expect(on).toMatchObject({ ok: true, hasNsfwConcepts: [true], image: { width: 256, height: 256, allZero: true } });
    expect(on.safetyEvents[0]).toMatchObject({ type: 'safety-loaded', modelId: `${FLAG_ALL.repo}@${REVISION}`, device: 'wasm' });
    const p = safetyImage(on);
    expect(p).toMatchObject({ type: 'safety-image', index: 0, flagged: true });
    const prob = p!.type === 'safety-image' ? p!.nsfwProbability : NaN;
    flaggedSeen = { pixelValue: pixelValueFromP(prob, FLAG_ALL.threshold), meanLevel: off.image!.mean };
    console.log(`flag-all checker: image mean level ${off.image!.mean.toFixed(2)}, P(nsfw) ${prob} → pixel_value ${flaggedSeen.pixelValue.toFixed(4)}; ` +
      `P(nsfw) of the plain mean ${tinyNsfwProbability(off.image!.mean, FLAG_ALL.threshold)}`);
    expect(prob).toBeGreaterThan(0.5);
    // Black (pixel_value −1) would still give P = sigmoid(2) ≈ 0.88: this checker cannot pass any image.
    expect(prob).toBeGreaterThanOrEqual(tinyNsfwProbability(0, FLAG_ALL.threshold) - 1e-6);
    expect(on.timings!.safety_checker).toBeGreaterThan(0);
    // transformers.js read the four files from the store, the external data because config.json names it (absent
    // optional files answered 404; nothing else).
    for (const file of ['config.json', 'preprocessor_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']) {
      expect(on.storeReads.some((l) => l.includes(`(${FLAG_ALL.repo}@${REVISION}): ${file} → 200`))).toBe(true);
    }
    for (const l of on.storeReads) expect(l).toMatch(/ → (200|206|404) from the model store/);
  });

  it('a checker that flags nothing: all hashes from the descriptor (no tree API call for its repo), image unchanged; both checkers saw the same image', async () => {
    onTestFailed(() => browser?.printLogs());
    const id = 'tiny-passed';
    hub!.resetCounters();
    const r = await install(descriptor(hub!.origin, 'test/tiny-sote', id, files, { repo: FLAG_NONE.repo, files: flagNone, hashes: 'all' }));
    expect(r.error).toBeUndefined();
    for (const f of flagNone) expect(served(FLAG_NONE.repo, f.path)).toBe(f.bytes.length);
    expect(hub!.requests.some((q) => q.path.startsWith(`/api/models/${FLAG_NONE.repo}/`))).toBe(false);
    expect(r.events.filter((e) => e.type === 'verify' && e.file.startsWith(`${FLAG_NONE.repo}/`)).every((e) => e.type === 'verify' && e.ok && e.algorithm === 'sha256')).toBe(true);

    const [on, off] = await generateInWorker(`${id}@fp32`, [true, false]);
    expect(on.error).toBeUndefined();
    expect(on).toMatchObject({ ok: true, hasNsfwConcepts: [false], image: { allZero: false } });
    expect(off).toMatchObject({ ok: true, hasNsfwConcepts: [false], image: { sameAsFirstRun: true } });
    expect(off.storeReads).toEqual([]);
    const p = safetyImage(on);
    expect(p).toMatchObject({ type: 'safety-image', flagged: false });
    const prob = p!.type === 'safety-image' ? p!.nsfwProbability : NaN;
    // P(nsfw) gives back the mean pixel_value the classifier saw: the image after the processor's 256² → 32²
    // bilinear resize, which samples a patterned image unevenly — so it is near the plain mean, not equal to it.
    // Both tiny-* models generate the same image (same checkpoints, seed and precision), so the flag-all
    // checker, a different network (threshold −1.25, not +1.25), must have seen exactly the same value.
    const seen = pixelValueFromP(prob, FLAG_NONE.threshold);
    console.log(`flag-none checker: image mean level ${on.image!.mean.toFixed(2)} (pixel_value ${pixelValue(on.image!.mean).toFixed(4)}), P(nsfw) ${prob} → pixel_value ${seen.toFixed(4)}; flag-all saw ${flaggedSeen?.pixelValue.toFixed(4)}`);
    expect(prob).toBeLessThan(0.5);
    // White (pixel_value +1) would still give P = sigmoid(−2) ≈ 0.12: this checker cannot flag any image.
    expect(prob).toBeLessThanOrEqual(tinyNsfwProbability(255, FLAG_NONE.threshold) + 1e-6);
    expect(on.image!.mean).toBe(flaggedSeen!.meanLevel);
    expect(Math.abs(seen - flaggedSeen!.pixelValue)).toBeLessThan(0.01);
    expect(Math.abs(seen - pixelValue(on.image!.mean))).toBeLessThan(0.25);
  });

  it('export → import carries the checker; re-verify names a corrupted checker file; without its ONNX file only enabled requests fail; delete frees it', async () => {
    onTestFailed(() => browser?.printLogs());
    const src = 'tiny-flagged@fp32';
    const copy = 'flagged-copy@fp32';
    await page().evaluate((x) => window.soteStore!.exportTar(x), src);
    expect(await page().evaluate(([a, b]) => window.soteStore!.importTar(a, b), [src, copy] as const)).toMatchObject({ ok: true, id: copy });
    expect(await storedPaths(copy)).toEqual(await storedPaths(src));
    expect((await page().evaluate((x) => window.soteStore!.verify(x), copy)).problems).toEqual([]);
    expect((await page().evaluate((x) => window.soteStore!.manifest(x), copy))!.safetyChecker).toMatchObject({ modelId: FLAG_ALL.repo });

    await page().evaluate((x) => window.soteStore!.corruptStored(x, 'safety/onnx/model.onnx'), copy);
    const v = await page().evaluate((x) => window.soteStore!.verify(x), copy);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toMatchObject({ name: 'IntegrityError', detail: { file: `${copy}/safety/onnx/model.onnx` } });

    await page().evaluate((x) => window.soteStore!.deleteStored(x, 'safety/onnx/model.onnx'), copy);
    const [off, on] = await generateInWorker(copy, [false, true]);
    console.log(`without safety/onnx/model.onnx: disabled → ${JSON.stringify(off.hasNsfwConcepts)}, enabled → ${on.error?.name}: ${on.error?.message}`);
    expect(off).toMatchObject({ ok: true, hasNsfwConcepts: [false] });
    expect(off.storeReads).toEqual([]);
    expect(on.ok).toBe(false);
    expect(on.error).toMatchObject({ name: 'SafetyCheckerUnavailableError' });
    expect(on.storeReads.some((l) => l.includes('onnx/model.onnx → 404'))).toBe(true);

    const before = await counts();
    for (const id of [copy, src, 'tiny-passed@fp32']) {
      const n = (await storedPaths(id)).length;
      await page().evaluate((x) => window.soteStore!.remove(x), id);
      expect(await storedPaths(id)).toEqual([]);
      console.log(`delete ${id}: ${n} stored files removed`);
    }
    expect((await counts()).files).toBeLessThan(before.files);
  });
  it('imports checkpoints + tokenizer + the safety checker files from disk: converted like an install, the checker runs', async () => {
    onTestFailed(() => browser?.printLogs());
    const url = (repo: string, path: string) => `${hub!.origin}/${repo}/resolve/${REVISION}/${path}`;
    const picked = [
      ...files.map((f) => ({ name: f.path.split('/').pop()!, url: url('test/tiny-sote', f.path) })),
      ...flagAll.map((f) => ({ name: f.path.split('/').pop()!, url: url(FLAG_ALL.repo, f.path) })),
    ];
    const d = descriptor(hub!.origin, 'test/tiny-sote', 'tiny-imported', files);
    const r = await page().evaluate(([p, id, dd]) => window.soteStore!.importUrls(p, id, dd), [picked, 'imported-with-checker', d] as const);
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, id: 'imported-with-checker' });
    expect(await storedPaths('imported-with-checker')).toEqual(expect.arrayContaining(SAFETY_PATHS));
    const m = await page().evaluate((id) => window.soteStore!.manifest(id), 'imported-with-checker');
    expect(m?.safetyChecker).toMatchObject({ modelId: 'local/import' });
    const [on] = await generateInWorker('imported-with-checker', [true]);
    expect(on).toMatchObject({ ok: true, hasNsfwConcepts: [true], image: { allZero: true } });
    // Two of the checker's three files: refused, naming what is missing, nothing stored.
    const partial = await page().evaluate(([p, id, dd]) => window.soteStore!.importUrls(p, id, dd), [picked.filter((f) => f.name !== 'preprocessor_config.json'), 'imported-partial', d] as const);
    expect(partial.ok).toBe(false);
    expect(partial.error?.message).toMatch(/expected one preprocessor_config\.json, got 0/);
    expect(await storedPaths('imported-partial')).toEqual([]);
    await page().evaluate((id) => window.soteStore!.remove(id), 'imported-with-checker');
  });
});
