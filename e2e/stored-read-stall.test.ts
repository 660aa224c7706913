/**
 * A session whose stored data stops arriving, with the real onnxruntime-web JSPI build in Chromium: the engine's
 * watched Blobs (src/engine/watched-blob.ts) reopen a stalled read and, when it keeps stalling, the session
 * creation fails with StoredReadStalledError instead of hanging (onnxruntime-web alone would wait forever, or
 * fail with its own generic error). The stalling Blob is a Blob subclass defined in the page: the demo model's
 * real chunk bytes, whose streams deliver a first piece and then nothing for the first `stalls` opens.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { BrowserSession } from './support/browser.ts';
import type { RunningVite } from './support/server.ts';
import { buildDemoModel, DEMO_MODEL_URL, openWorkerPage } from './support/worker-page.ts';

interface StallRun {
  ok: boolean;
  error?: { name: string; message: string; cause?: string };
  warnings: string[];
  opens: number;
  loadedBytes: number;
  totalBytes: number;
  build: string;
}

/**
 * Page code (a string: vitest would rewrite a function's dynamic imports for Node). Creates the demo model's
 * text encoder session on WASM from Blobs that stall `stalls` times, with a 300 ms deadline and one reopening.
 */
const stallRun = (stalls: number) => `(async () => {
  const { loadOrtWeb } = await import('/src/engine/ort-web-loader.ts');
  const { OrtEngine } = await import('/src/engine/ort-engine.ts');
  const { ort, build } = await loadOrtWeb('jspi');
  ort.env.wasm.numThreads = 1;
  const base = ${JSON.stringify(DEMO_MODEL_URL)};
  const manifest = await (await fetch(base + 'manifest.json')).json();
  const c = manifest.components.clip_text;
  const model = new Uint8Array(await (await fetch(base + c.graph.path)).arrayBuffer());
  const state = { stalls: ${stalls}, opens: 0 };
  class StallingBlob extends Blob {
    slice(start, end) { return new StallingBlob([super.slice(start, end)]); }
    stream() {
      state.opens++;
      if (state.opens > state.stalls) return super.stream();
      const head = super.slice(0, 1024);
      let sent = false;
      return new ReadableStream({
        async pull(controller) {
          if (sent) return new Promise(() => {});
          sent = true;
          controller.enqueue(new Uint8Array(await head.arrayBuffer()));
        },
      });
    }
  }
  const externalData = [];
  for (const f of c.chunks) externalData.push({ path: f.path, data: new StallingBlob([await (await fetch(base + f.path)).blob()]) });
  const warnings = [];
  const engine = new OrtEngine(ort, 'wasm', { blobReads: { stallMs: 300, reopenLimit: 1 }, log: (m, level) => { if (level === 'WARN') warnings.push(m); } });
  let loadedBytes = 0;
  const totalBytes = c.chunks.reduce((a, f) => a + f.bytes, 0);
  try {
    const session = await engine.createSession({ model, externalData }, { label: 'clip_text', onBytes: (n) => { loadedBytes += n; } });
    await session.release();
    return { ok: true, warnings, opens: state.opens, loadedBytes, totalBytes, build };
  } catch (e) {
    return { ok: false, error: { name: e.name, message: e.message, cause: e.cause ? String(e.cause.message ?? e.cause) : undefined }, warnings, opens: state.opens, loadedBytes, totalBytes, build };
  }
})()`;

describe('a stored-data read that stalls, through onnxruntime-web (JSPI build)', () => {
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

  it('a read that stalls once is reopened where it stopped: the session is created, with a WARN line', async () => {
    onTestFailed(() => browser?.printLogs('browser log'));
    const r = (await browser!.page.evaluate(stallRun(1))) as StallRun;
    console.log(`stall once: ${JSON.stringify(r)}`);
    expect(r.build).toBe('jspi');
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^clip_text: a stored-data read delivered nothing for 0 s at byte 1024 of \d+; reopened it \(attempt 1\)$/);
    // Every byte onnxruntime asked for arrived once: the reopened read resumed at byte 1024, not from 0.
    expect(r.loadedBytes).toBeGreaterThan(0.95 * r.totalBytes);
    expect(r.loadedBytes).toBeLessThanOrEqual(r.totalBytes);
  }, 120_000);

  it('a read that keeps stalling fails the session with StoredReadStalledError, not a hang or a generic error', async () => {
    onTestFailed(() => browser?.printLogs('browser log'));
    const r = (await browser!.page.evaluate(stallRun(1000))) as StallRun;
    console.log(`stall for good: ${JSON.stringify(r)}`);
    expect(r.ok).toBe(false);
    expect(r.error?.name).toBe('StoredReadStalledError');
    // The reopened read delivered its first 1024 bytes too, then stalled again: it gave up at byte 2048.
    expect(r.error?.message).toMatch(/^reading the stored model stopped at byte 2048 of a \d+-byte slice: no data for 0 s, 2 times — reload the page/);
    expect(r.loadedBytes).toBe(2048);
    // onnxruntime's own error is kept as the cause.
    expect(r.error?.cause).toMatch(/external data|session/i);
    expect(r.warnings).toHaveLength(1);
  }, 120_000);
});
