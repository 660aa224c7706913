/**
 * Test page for src/store/: installs, lists, verifies, deletes, exports/imports models in this page's
 * IndexedDB and generates from an installed package (onnxruntime-web WASM on the page thread, or through the
 * generator worker — workers/generator.worker.ts, same origin and so the same IndexedDB — when the safety
 * checker is involved). Everything returned to the test is JSON-safe: errors become {name, message, detail}.
 */
import { createStore, del, keys } from 'idb-keyval';
import * as ort from 'onnxruntime-web/webgpu';
import { OrtEngine, type OrtModule } from '../../src/engine/ort-engine.ts';
import { TextToImagePipeline } from '../../src/pipeline/text-to-image.ts';
import { parseDescriptor } from '../../src/store/descriptor.ts';
import { installModel, type InstallOptions } from '../../src/store/install.ts';
import { deleteModel, idbPackageReader, listModels, verifyModel } from '../../src/store/package-store.ts';
import type { InstallEvent } from '../../src/store/progress.ts';
import { exportPackage } from '../../src/store/export.ts';
import { connectGenerator, withEvents, type SafetyEvent, type WorkerEvent } from '../../src/client/protocol.ts';
import { getModel } from '../../src/store/package-store.ts';
import { importFiles } from '../../src/store/import.ts';

export interface ErrorSummary {
  name: string;
  message: string;
  detail: Record<string, unknown>;
  isClass: string[];
}

export interface InstallSummary {
  ok: boolean;
  id?: string;
  bytes?: number;
  error?: ErrorSummary;
  events: InstallEvent[];
  ms: number;
}

export interface StoreCounts {
  slices: number;
  downloads: number;
  files: number;
  installs: number;
  models: number;
  /** Slice keys per file key. */
  slicesPerFile: Record<string, number>;
}

function summarize(e: unknown): ErrorSummary {
  const err = e as Error & { detail?: Record<string, unknown> };
  const classes: string[] = [];
  for (let p = Object.getPrototypeOf(err); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) classes.push(p.constructor?.name ?? '?');
  return { name: err?.name ?? 'unknown', message: err?.message ?? String(e), detail: { ...(err?.detail ?? {}) }, isClass: classes };
}

type PageInstallOptions = Omit<InstallOptions, 'onEvent' | 'signal' | 'fetch' | 'estimate'> & { abortAfterSlices?: number; descriptorUrl?: string; fakeFreeBytes?: number };

async function install(descriptorJson: unknown, options: PageInstallOptions = {}): Promise<InstallSummary> {
  const events: InstallEvent[] = [];
  const started = performance.now();
  const ac = new AbortController();
  let slicesSeen = 0;
  try {
    const d = parseDescriptor(descriptorJson, { url: options.descriptorUrl ?? location.href });
    const m = await installModel(d, {
      ...options,
      ...(options.fakeFreeBytes !== undefined
        ? { estimate: async () => {
          const e = await navigator.storage.estimate();
          return { usage: e.usage ?? 0, quota: (e.usage ?? 0) + options.fakeFreeBytes! };
        } }
        : {}),
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'download' && options.abortAfterSlices !== undefined && e.fileProgress.bytesDone > 0 && ++slicesSeen >= options.abortAfterSlices) {
          ac.abort(new DOMException('the test closed the tab', 'AbortError'));
        }
      },
    });
    return { ok: true, id: m.id, bytes: m.bytes, events, ms: performance.now() - started };
  } catch (e) {
    return { ok: false, error: summarize(e), events, ms: performance.now() - started };
  }
}

const raw = {
  slices: createStore('sote-slices', 'slices'),
  downloads: createStore('sote-downloads', 'state'),
  files: createStore('sote-package', 'files'),
  installs: createStore('sote-installs', 'state'),
  models: createStore('sote-models', 'models'),
};

async function counts(): Promise<StoreCounts> {
  const sliceKeys = await keys<IDBValidKey[]>(raw.slices);
  const slicesPerFile: Record<string, number> = {};
  for (const k of sliceKeys) slicesPerFile[String(k[0])] = (slicesPerFile[String(k[0])] ?? 0) + 1;
  return {
    slices: sliceKeys.length,
    downloads: (await keys(raw.downloads)).length,
    files: (await keys(raw.files)).length,
    installs: (await keys(raw.installs)).length,
    models: (await keys(raw.models)).length,
    slicesPerFile,
  };
}

async function generate(modelId: string, size = 256): Promise<{ width: number; height: number; distinctValues: number; mean: number; readbacks: number }> {
  ort.env.wasm.numThreads = 1;
  const engine = new OrtEngine(ort as unknown as OrtModule, 'wasm');
  const pipeline = await TextToImagePipeline.load(engine, idbPackageReader(modelId));
  try {
    const r = await pipeline.generate({ prompt: 'a tiny test', width: size, height: size, seed: 7, stageC: { steps: 2, cfg: 4 }, stageB: { steps: 2, cfg: 1.1 } });
    const img = r.images[0];
    let sum = 0;
    const distinct = new Set<number>();
    for (const v of img.rgb) {
      sum += v;
      distinct.add(v);
    }
    return { width: img.width, height: img.height, distinctValues: distinct.size, mean: sum / img.rgb.length, readbacks: r.readbacks };
  } finally {
    await pipeline.release();
  }
}

/** One generation through the worker, as the test sees it. */
export interface WorkerRunSummary {
  enableSafetyChecker: boolean;
  ok: boolean;
  error?: ErrorSummary;
  hasNsfwConcepts?: boolean[];
  timings?: Record<string, number>;
  image?: { width: number; height: number; mean: number; allZero: boolean; distinctValues: number; sameAsFirstRun: boolean };
  safetyEvents: SafetyEvent[];
  /** The worker's DEBUG lines for safety checker files served from the model store. */
  storeReads: string[];
  /** The onnxruntime-web build the worker loaded the model with. */
  ortBuild?: string;
  /** Per network session created by load() or this run: the last bytes-read report (watched Blob reads). */
  sessionReads: { component: string; loadedBytes: number; totalBytes: number }[];
}

/**
 * Loads an installed model in a fresh generator worker (WASM) and generates once per entry of `runs` (the
 * enableSafetyChecker switch), same prompt and seed each time; the worker is terminated afterwards.
 */
async function generateInWorker(modelId: string, runs: boolean[]): Promise<WorkerRunSummary[]> {
  const worker = new Worker(new URL('../../workers/generator.worker.ts', import.meta.url), { type: 'module' });
  const client = connectGenerator(worker);
  const out: WorkerRunSummary[] = [];
  let first: Uint8Array | undefined;
  const reads = (events: WorkerEvent[]) => [...new Map(events.flatMap((e) => (e.type === 'session-progress' ? [[e.component, e] as const] : []))).values()]
    .map(({ component, loadedBytes, totalBytes }) => ({ component, loadedBytes, totalBytes }));
  try {
    const loadEvents: WorkerEvent[] = [];
    const loaded = await client.load({ modelId, backend: 'wasm' }, withEvents((e) => void loadEvents.push(e)));
    for (const enableSafetyChecker of runs) {
      const events: WorkerEvent[] = [...loadEvents.splice(0)];
      const summary: WorkerRunSummary = { enableSafetyChecker, ok: false, safetyEvents: [], storeReads: [], ortBuild: loaded.ortBuild, sessionReads: [] };
      try {
        const r = await client.generate({ prompt: 'a tiny test', width: 256, height: 256, seed: 7, stageC: { steps: 2, cfg: 4 }, stageB: { steps: 2, cfg: 1.1 }, enableSafetyChecker },
          withEvents((e) => { if (e.type !== 'preview' && e.type !== 'step') events.push(e); }));
        const img = r.images[0];
        let sum = 0;
        for (const v of img.rgb) sum += v;
        first ??= img.rgb;
        Object.assign(summary, {
          ok: true,
          hasNsfwConcepts: r.hasNsfwConcepts,
          timings: r.timings,
          image: {
            width: img.width,
            height: img.height,
            mean: sum / img.rgb.length,
            allZero: img.rgb.every((v) => v === 0),
            distinctValues: new Set(img.rgb).size,
            sameAsFirstRun: img.rgb.length === first.length && img.rgb.every((v, i) => v === first![i]),
          },
        });
        // Events come through their own MessagePort (a Comlink proxy), which is not ordered with the reply to
        // generate(): wait for the run's last event (exactly one safety-disabled or safety-image per image).
        for (let waited = 0; waited < 5000 && !events.some((e) => e.type === 'safety-disabled' || e.type === 'safety-image'); waited += 20) {
          await new Promise((ok) => setTimeout(ok, 20));
        }
      } catch (e) {
        summary.error = summarize(e);
        await new Promise((ok) => setTimeout(ok, 500)); // late events of the failed run (same reason as above)
      }
      summary.safetyEvents = events.filter((e): e is SafetyEvent => e.type.startsWith('safety-'));
      summary.storeReads = events.flatMap((e) => (e.type === 'log' && e.level === 'DEBUG' && e.message.includes('from the model store') ? [e.message] : []));
      summary.sessionReads = reads(events);
      out.push(summary);
    }
    return out;
  } finally {
    worker.terminate();
  }
}

const exported = new Map<string, File>();

declare global {
  interface Window {
    soteStoreReady?: boolean;
    soteStore?: typeof api;
  }
}

const api = {
  install,
  counts,
  generate,
  list: async () => (await listModels()).map((m) => ({ id: m.id, name: m.name, precision: m.precision, bytes: m.bytes })),
  remove: (id: string) => deleteModel(id),
  verify: async (id: string) => {
    const r = await verifyModel(id);
    return { files: r.files, bytes: r.bytes, problems: r.problems.map(summarize) };
  },
  estimate: async () => {
    const e = await navigator.storage.estimate();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  },
  persisted: () => navigator.storage.persisted(),
  exportTar: async (id: string) => {
    const blob = await exportPackage(id);
    exported.set(id, new File([blob], `${id}.tar`));
    return { bytes: blob.size, type: blob.type };
  },
  importTar: async (id: string, asId: string) => {
    try {
      const m = await importFiles([exported.get(id)!], { id: asId });
      return { ok: true, id: m.id, bytes: m.bytes };
    } catch (e) {
      return { ok: false, error: summarize(e) };
    }
  },
  /** Imports files fetched from URLs as if picked from disk (checkpoints, tokenizer, safety checker). */
  importUrls: async (files: { name: string; url: string }[], asId: string, descriptorJson?: unknown) => {
    try {
      const picked = await Promise.all(files.map(async (f) => new File([await (await fetch(f.url)).blob()], f.name)));
      // The descriptor carries the configs of non-released sizes (the tiny fixture), as the import UI's would.
      const descriptor = descriptorJson === undefined ? undefined : parseDescriptor(descriptorJson, { url: location.href });
      const m = await importFiles(picked, { id: asId, precision: 'fp32', ...(descriptor ? { descriptor } : {}) });
      return { ok: true, id: m.id, bytes: m.bytes };
    } catch (e) {
      return { ok: false, error: summarize(e) };
    }
  },
  /**
   * Drops the exported tar Files and collects garbage (when the browser runs with --js-flags=--expose-gc): an
   * exported File is made of the stored Blobs, and Chromium cannot free a deleted model's blob files while any
   * page object still references them.
   */
  releaseExports: () => {
    exported.clear();
    (globalThis as { gc?: () => void }).gc?.();
  },
  generateInWorker,
  /** Package paths stored under a model id (each file once, whatever its number of parts). */
  storedPaths: async (id: string) => {
    const ks = await keys<IDBValidKey[]>(raw.files);
    return [...new Set(ks.filter((k) => k[0] === id).map((k) => String(k[1])))].sort();
  },
  /** The installed record's manifest facts. */
  manifest: async (id: string) => {
    const m = await getModel(id);
    return m ? { bytes: m.bytes, totalBytes: m.manifest.totalBytes, safetyChecker: m.manifest.safetyChecker ?? null } : null;
  },
  /** Removes every part of one stored package file. */
  deleteStored: async (id: string, path: string) => {
    for (const k of await keys<IDBValidKey[]>(raw.files)) if (k[0] === id && k[1] === path) await del(k, raw.files);
  },
  /** Corrupts one byte of a stored package file (re-verify must notice). */
  corruptStored: async (id: string, path: string) => {
    const { get, set } = await import('idb-keyval');
    const b = await get<Blob>([id, path, 0], raw.files);
    if (!b) throw new Error(`no ${path}`);
    const bytes = new Uint8Array(await b.arrayBuffer());
    bytes[bytes.length >> 1] ^= 0xff;
    await set([id, path, 0], new Blob([bytes]), raw.files);
  },
};

window.soteStore = api;
window.soteStoreReady = true;
