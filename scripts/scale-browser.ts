/**
 * The browser parts of the scale benchmark (see scripts/scale.ts): install through the Models panel, generate
 * through window.sote.subscribe, reload offline (wasm-int4), all in a fresh Chromium profile removed at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type BrowserSession } from '../e2e/support/browser.ts';
import { diskBytes, PhaseSampler, pidsWithArg, processTree, pssBytes, rssBytes, rssByType, type PartName, type PartResult, type ScaleContext } from './scale-support.ts';

const HOUR = 3_600_000;

/** Phase name for the Models panel's progress text (src/ui/models.ts). */
function installPhase(stage: string | undefined): string {
  const m = /^Converting (\S+):/.exec(stage ?? '') ?? /^(\S+) converted/.exec(stage ?? '');
  if (m) return `convert ${m[1]}`;
  return 'download + verify';
}

/** Phase name for a request log line (src/client/request-logs.ts). */
function generatePhase(message: string | undefined, prefix: string): string | undefined {
  if (!message) return undefined;
  if (message.startsWith('loading model')) return `${prefix}session creation`;
  const started = /^(.+) started$/.exec(message);
  if (started) return `${prefix}${started[1]}`;
  if (/^safety checker/i.test(message)) return `${prefix}safety check`;
  return undefined;
}

/** Phase name for the Models panel's "Test on this device" progress text (src/ui/model-check-view.ts). */
function checkPhase(text: string | undefined, prefix: string): string | undefined {
  const loading = /^loading (.+?)…/.exec(text ?? '');
  const p = prefix || 'check: ';
  if (loading) return loading[1] === 'the model' ? `${p}model load` : `${p}session ${loading[1]}`;
  if (/^decoding the test latent/.test(text ?? '')) return `${p}Stage A decode (256×256 test latent)`;
  return undefined;
}

/** How long a request or check may show no change at all before the part counts it as stalled. */
const STALL_MS = 20 * 60_000;

/**
 * `work`, unless `progress` (a description of what the page shows) stays the same for STALL_MS: then a stall
 * error naming the last thing shown. A step of the 3.6B network at 256×256 on WASM takes about a minute, a
 * session creation from IndexedDB under half a minute, so 20 minutes without change is a hang, not a slow phase.
 */
async function untilStalled<T>(work: Promise<T>, progress: () => Promise<unknown>): Promise<T> {
  let last: unknown;
  let changedAt = Date.now();
  let done = false;
  const watch = (async () => {
    while (!done) {
      await new Promise((ok) => setTimeout(ok, 5000));
      if (done) break;
      const now = await progress().catch(() => last);
      if (now !== last) {
        last = now;
        changedAt = Date.now();
      } else if (Date.now() - changedAt > STALL_MS) {
        throw new Error(`stalled: nothing changed for ${STALL_MS / 60_000} min; last shown: ${String(last)}`);
      }
    }
    return undefined as never;
  })();
  try {
    return await Promise.race([work, watch]);
  } finally {
    done = true;
  }
}

/** generate(), failed as stalled when its request log gets no new line for STALL_MS. */
function generateUntilStalled(page: Page): Promise<GenerateSummary> {
  return untilStalled(generate(page), () => page.evaluate('window.__scaleLog?.length + " " + window.__scaleLog?.at(-1)?.message'));
}

/** The Models panel's "Test on this device" for a model: its result line and whether it ended ok and finite. */
async function runCheck(page: Page, modelKey: string, label = ''): Promise<{ ok: boolean; line: string }> {
  await page.locator(`[data-model="${modelKey}"] button.check`).click();
  const out = page.locator(`[data-model="${modelKey}"] .check-result`);
  await untilStalled(page.waitForSelector(`[data-model="${modelKey}"] .check-result[data-done]`, { timeout: 6 * HOUR, polling: 1000 } as never),
    async () => `${label}${(await out.textContent().catch(() => '')) ?? ''}`);
  const line = (await out.textContent()) ?? '';
  const done = await out.getAttribute('data-done');
  return { ok: done === 'ok' && / finite \(/.test(line), line };
}

interface GenerateSummary {
  ok: boolean;
  error?: string;
  distinct: number;
  logs: { message: string; timestamp: string; level?: string }[];
}

/** The request's WARN/ERROR log lines (a stalled stored-data read that was reopened, …), for the part's notes. */
function warnings(r: GenerateSummary, prefix: string): string[] {
  return r.logs.filter((l) => l.level === 'WARN' || l.level === 'ERROR').map((l) => `${prefix}${l.level}: ${l.message}`);
}

/**
 * One request through window.sote.subscribe; logs go to window.__scaleLog as they arrive. The page code is a
 * string: tsx compiles this file with keepNames, whose `__name` helper does not exist in the page.
 */
async function generate(page: Page): Promise<GenerateSummary> {
  return page.evaluate(`(async () => {
    const w = window;
    w.__scaleLog = [];
    const seen = new Set();
    try {
      const r = await w.sote.subscribe('fal-ai/stable-cascade/sote-diffusion', {
        input: { prompt: 'newest, extremely aesthetic, best quality, 1girl, solo', image_size: { width: 256, height: 256 }, first_stage_steps: 4, second_stage_steps: 4, seed: 1, enable_safety_checker: true },
        logs: true,
        onQueueUpdate: (s) => {
          for (const l of s.logs ?? []) {
            const key = l.timestamp + ' ' + l.message;
            if (seen.has(key)) continue;
            seen.add(key);
            w.__scaleLog.push({ message: l.message, timestamp: l.timestamp, level: l.level });
          }
        },
      });
      const blob = await (await fetch(r.data.images[0].url)).blob();
      const bitmap = await createImageBitmap(blob);
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const g = canvas.getContext('2d');
      g.drawImage(bitmap, 0, 0);
      const px = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const distinct = new Set();
      for (let i = 0; i < px.length; i += 4) distinct.add(px[i]).add(px[i + 1]).add(px[i + 2]);
      return { ok: true, distinct: distinct.size, logs: w.__scaleLog };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e), distinct: 0, logs: w.__scaleLog };
    }
  })()`);
}

async function installedBytes(page: Page, id: string): Promise<number> {
  return page.evaluate(`new Promise((ok) => {
    const open = indexedDB.open('sote-models');
    open.onerror = () => ok(0);
    open.onsuccess = () => {
      try {
        const get = open.result.transaction('models').objectStore('models').get(${JSON.stringify(id)});
        get.onsuccess = () => ok(get.result?.bytes ?? 0);
        get.onerror = () => ok(0);
      } catch {
        ok(0);
      }
    };
  })`);
}

/**
 * Bytes Chromium attributes to the page's dedicated workers (JS heap, ArrayBuffers, WebAssembly memories), or
 * undefined where performance.measureUserAgentSpecificMemory is unavailable (page code as a string).
 */
const WORKER_MEMORY = `performance.measureUserAgentSpecificMemory?.().then((m) => m.breakdown
  .filter((b) => b.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope'))
  .reduce((sum, b) => sum + b.bytes, 0))`;

/** The text of the first visible .error element, or null (page code as a string, see generate()). */
const VISIBLE_ERROR = `[...document.querySelectorAll('.error')].find((e) => !e.hidden && e.textContent.trim())?.textContent ?? null`;

export async function runBrowserPart(ctx: ScaleContext, part: Exclude<PartName, 'node'>): Promise<PartResult & { chromium?: string }> {
  const precision = part === 'wasm-int4' ? 'int4' : 'int8';
  const backend = part === 'wasm-int4' ? 'wasm' : 'webgpu';
  const modelKey = `${ctx.descriptor.id}@${precision}`;
  const profile = await mkdtemp(join(ctx.fixtureDir, `..`, `scale-profile-${part}-`));
  const notes: string[] = [];
  const result: PartResult & { chromium?: string } = { name: part, ok: false, phases: [], package_bytes: 0, idb_bytes: 0, downloaded_bytes: 0, finite: false, notes };
  let browser: BrowserSession | undefined;
  let sampler: PhaseSampler | undefined;
  let mode: 'install' | 'check' | 'generate' = 'install';
  let prefix = '';
  let lastStatus = Date.now();
  let workerBytes: number | undefined;
  let measuring = true;
  try {
    browser = await launchBrowser({ userDataDir: profile, args: ctx.measureWorkers ? ['--enable-blink-features=ForceEagerMeasureMemory'] : [] });
    result.chromium = `Chromium ${browser.context.browser()?.version() ?? ''}`.trim();
    const page = browser.page;
    const rss = () => rssBytes(processTree(pidsWithArg(profile)));
    const rssDetail = () => {
      const pids = processTree(pidsWithArg(profile));
      const byType = rssByType(pids);
      return { total: Object.values(byType).reduce((a, b) => a + b, 0), byType, pss: pssBytes(pids) };
    };
    // Workers have no performance.memory; the page can measure them (cross-origin isolated, and answered without
    // waiting for a GC with the ForceEagerMeasureMemory flag): the generator worker and onnxruntime-web's thread
    // pool workers. A busy worker answers late, so one measurement runs at a time, beside the 1 s sampling.
    // Opt-in (--measure-workers): a measurement issued while onnxruntime-web's JSPI build creates a session never
    // resolves. (Session creations also stalled at full size without this polling — README "At full size".)
    const measureWorkers = async () => {
      while (measuring) {
        workerBytes = await page.evaluate(WORKER_MEMORY).catch(() => undefined) as number | undefined;
        await new Promise((ok) => setTimeout(ok, 1000));
      }
    };
    sampler = new PhaseSampler(rssDetail, async () => {
      const heap = workerBytes;
      const probe = await page.evaluate(`({
        stage: document.querySelector('.install-progress .stage-text')?.textContent ?? undefined,
        overall: document.querySelector('.install-progress .overall-text')?.textContent ?? undefined,
        log: window.__scaleLog?.at(-1)?.message,
        check: document.querySelector('.check-result:not([data-done])')?.textContent ?? undefined,
      })`).catch(() => undefined) as { stage?: string; overall?: string; log?: string; check?: string } | undefined;
      const phase = mode === 'install' ? installPhase(probe?.stage) : mode === 'check' ? checkPhase(probe?.check, prefix) : generatePhase(probe?.log, prefix);
      if (Date.now() - lastStatus > 30_000) {
        lastStatus = Date.now();
        ctx.log(`  ${part}: … ${mode === 'install' ? `${probe?.overall ?? ''} ${probe?.stage ?? ''}` : (mode === 'check' ? probe?.check : probe?.log) ?? ''}`);
      }
      return { ...(phase ? { phase } : {}), ...(heap ? { heap } : {}) };
    }, 1000, (name) => ctx.log(`  ${part}: ${name} (browser RSS ${(rss() / 2 ** 30).toFixed(2)} GiB, workers ${((workerBytes ?? 0) / 2 ** 30).toFixed(2)} GiB)`));
    sampler.start();
    if (ctx.measureWorkers) void measureWorkers();
    sampler.setPhase('page load');
    const descriptorUrl = ctx.descriptorUrl;
    await page.goto(`${ctx.appOrigin}/?hub=${encodeURIComponent(ctx.hub.origin)}&model=${encodeURIComponent(descriptorUrl)}`);
    const entry = page.locator(`.catalogue .entry[data-model="${ctx.descriptor.id}"]`);
    await entry.waitFor({ timeout: 120_000 });
    await entry.locator('select').selectOption(precision);
    await page.selectOption('select[name=backend]', backend);
    sampler.setPhase('download + verify');
    await entry.locator('button.install').click();
    await page.waitForFunction(`document.querySelector('.install-progress .install-done') || (${VISIBLE_ERROR})`, undefined, { timeout: 6 * HOUR, polling: 1000 });
    if (!(await page.locator('.install-progress .install-done').count())) throw new Error(`install failed: ${String(await page.evaluate(VISIBLE_ERROR))}`);
    result.downloaded_bytes = ctx.hub.totalBytesServed();
    const stageC = ctx.descriptor.source.files.find((f) => f.role === 'stage_c')!;
    const stageCServed = ctx.hub.bytesServed(`/${ctx.descriptor.source.repo}/resolve/${ctx.descriptor.source.revision}/${stageC.path}`);
    notes.push(ctx.stageCCut.done
      ? `Stage C connection dropped once at half; Stage C served ${stageCServed} B for ${stageC.size} B (${stageCServed - (stageC.size ?? 0)} B extra)`
      : 'the Stage C cut-off did not trigger');
    result.package_bytes = await installedBytes(page, modelKey);
    result.idb_bytes = diskBytes(join(profile, 'Default', 'IndexedDB'));

    await page.selectOption('select[name=model]', modelKey).catch(() => undefined);
    await page.selectOption('select[name=backend]', backend);
    if (part === 'webgpu-int8' && !ctx.webgpuGenerate) {
      // SwiftShader does ~0.5 GFLOP/s: a 3.6B-parameter step would take hours. The Models panel's "Test on this
      // device" loads every network on the adapter and decodes one test latent through Stage A.
      notes.push('WebGPU (SwiftShader, ~0.5 GFLOP/s, too slow for the 3.6B/1.5B steps): every network loaded on the adapter and one Stage A decode of a 256×256 test latent, through the Models panel\'s "Test on this device" (--webgpu-generate runs a whole image instead)');
      mode = 'check';
      sampler.setPhase('check: start');
      const check = await runCheck(page, modelKey);
      notes.push(`check: ${check.line}`);
      result.ok = check.ok;
      result.finite = result.ok;
      return result;
    }
    mode = 'generate';
    sampler.setPhase('generate: start');
    const first = await generateUntilStalled(page);
    const okFirst = first.ok && first.distinct > 16;
    notes.push(first.ok ? `image: ${first.distinct} distinct 8-bit values` : `generation: ${first.error}`, ...warnings(first, ''));
    result.finite = okFirst;

    if (part === 'wasm-int4') {
      ctx.hub.resetCounters();
      prefix = 'after reload: ';
      sampler.setPhase('reload (page load to generating)');
      await browser.context.setOffline(true);
      const reloadStarted = Date.now();
      // The app's own URL: the ?model= descriptor lives on the (now unreachable) hub.
      await page.goto(`${ctx.appOrigin}/`);
      await page.locator(`select[name=model] option[value="${modelKey}"]`).waitFor({ state: 'attached', timeout: 120_000 });
      await page.selectOption('select[name=model]', modelKey);
      await page.selectOption('select[name=backend]', backend);
      const second = await generateUntilStalled(page);
      const reloadFetched = ctx.hub.totalBytesServed();
      notes.push(`after reload: ${reloadFetched} B fetched from the hub; ${second.ok ? `image: ${second.distinct} distinct values` : `generation: ${second.error}`}`, ...warnings(second, 'after reload: '));
      const t0 = Date.parse(second.logs[0]?.timestamp ?? '');
      const gen = second.logs.find((l) => /^Stage C \(prior\) step 1\//.test(l.message));
      if (gen && !Number.isNaN(t0)) notes.push(`after reload: first Stage C step ${((Date.parse(gen.timestamp) - t0) / 1000).toFixed(1)} s after the request was taken`);
      // Stage C is sampling once its step graph's session (the last 'stage_c session' before step 1) is ready.
      const genAt = gen ? second.logs.indexOf(gen) : second.logs.length;
      const ready = second.logs.slice(0, genAt).filter((l) => /^stage_c session ready/.test(l.message)).at(-1);
      if (ready) notes.push(`after reload: Stage C sampling from ${((Date.parse(ready.timestamp) - reloadStarted) / 1000).toFixed(1)} s after the page load began (text encoder done, Stage C session created from IndexedDB)`);
      result.finite = result.finite && second.ok && second.distinct > 16;
      result.ok = okFirst && second.ok && reloadFetched === 0;
      let checksOk = 0;
      mode = 'check';
      for (let i = 1; i <= ctx.reloadChecks; i++) {
        prefix = `reload check ${i}: `;
        sampler.setPhase(`reload check ${i}: page load`);
        await page.goto(`${ctx.appOrigin}/`);
        await page.locator(`select[name=model] option[value="${modelKey}"]`).waitFor({ state: 'attached', timeout: 120_000 });
        await page.selectOption('select[name=backend]', backend);
        const check = await runCheck(page, modelKey, `reload check ${i}: `);
        ctx.log(`  ${part}: reload check ${i}/${ctx.reloadChecks}: ${check.ok ? 'ok' : 'FAILED'}: ${check.line}`);
        notes.push(`reload check ${i}: ${check.line}`);
        if (!check.ok) break;
        checksOk++;
      }
      if (ctx.reloadChecks) {
        notes.push(`reload checks: ${checksOk} of ${ctx.reloadChecks} loaded every network from IndexedDB and decoded a finite test latent (${ctx.hub.totalBytesServed()} B fetched from the hub)`);
        result.ok = result.ok && checksOk === ctx.reloadChecks && ctx.hub.totalBytesServed() === 0;
      }
    } else {
      result.ok = okFirst;
    }
  } catch (e) {
    result.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
    browser?.printLogs(`browser log (${part})`);
  } finally {
    measuring = false;
    result.phases = sampler?.stop() ?? [];
    result.disk_bytes = diskBytes(profile);
    await browser?.close();
    await rm(profile, { recursive: true, force: true });
  }
  return result;
}
