/**
 * Test page for src/store/: installs, lists, verifies, deletes, exports/imports models in this page's
 * IndexedDB and generates from an installed package (onnxruntime-web WASM on the page thread). Everything
 * returned to the test is JSON-safe: errors become {name, message, detail}.
 */
import { createStore, keys } from 'idb-keyval';
import * as ort from 'onnxruntime-web/webgpu';
import { OrtEngine, type OrtModule } from '../../src/engine/ort-engine.ts';
import { TextToImagePipeline } from '../../src/pipeline/text-to-image.ts';
import { parseDescriptor } from '../../src/store/descriptor.ts';
import { installModel, type InstallOptions } from '../../src/store/install.ts';
import { deleteModel, idbPackageReader, listModels, verifyModel } from '../../src/store/package-store.ts';
import type { InstallEvent } from '../../src/store/progress.ts';
import { exportPackage } from '../../src/store/export.ts';
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
