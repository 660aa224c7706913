/**
 * Which build of onnxruntime-web (1.30.0, one version, two builds of its native WebGPU EP) a browser worker runs:
 * - 'jspi' (`onnxruntime-web/jspi`): needs `WebAssembly.Suspending` (JS Promise Integration, Chromium 137+).
 *   External data given as a Blob is mounted and read in slices while the session is built
 *   (microsoft/onnxruntime#29477), so a multi-GB IndexedDB Blob never sits whole in the JS heap.
 * - 'asyncify' (`onnxruntime-web/webgpu`): runs everywhere WebAssembly does; it calls `Blob.arrayBuffer()` on
 *   every external-data Blob, so each file is briefly materialized in the JS heap. The fallback.
 * Both run the 'webgpu' and the 'wasm' execution provider.
 *
 * Invariants: one build per realm (a worker): onnxruntime-web initialises its wasm runtime once per module, the
 * safety checker binds transformers.js to that one module, and the GPUDevice belongs to it. The first call decides;
 * a later call asking for the other build explicitly is refused (start a new worker for it).
 * Both imports are dynamic, so Vite emits each build's .mjs/.wasm as its own asset (the offline service worker
 * precaches every file of the build output, src/offline/vite-plugin.ts) and a page downloads only the one it uses.
 */
import type { OrtModule } from './ort-engine.ts';

export type OrtWebBuild = 'jspi' | 'asyncify';
export type OrtWebBuildPreference = 'auto' | OrtWebBuild;

/** The slice of onnxruntime-web's module the worker uses beyond OrtModule. */
export interface OrtWebModule extends OrtModule {
  env: {
    wasm: { numThreads?: number };
    webgpu: { device?: unknown };
  };
}

export interface OrtWebBuildDecision {
  build: OrtWebBuild;
  /** One sentence naming why (logged by the worker). */
  reason: string;
}

export interface LoadedOrtWeb extends OrtWebBuildDecision {
  ort: OrtWebModule;
}

/** Thrown when a worker that already runs one build is asked for the other, or JSPI is forced without support. */
export class OrtWebBuildError extends Error {
  override name = 'OrtWebBuildError';
}

/** True when this realm has JS Promise Integration (the JSPI build needs `WebAssembly.Suspending`). */
export function hasJspi(wasm: object = WebAssembly): boolean {
  return typeof (wasm as { Suspending?: unknown }).Suspending === 'function';
}

/** Pure: the build for a preference on a runtime with or without JSPI. */
export function chooseOrtWebBuild(preference: OrtWebBuildPreference, jspi: boolean): OrtWebBuildDecision {
  if (preference === 'asyncify') return { build: 'asyncify', reason: 'asyncify build requested' };
  if (jspi) {
    return {
      build: 'jspi',
      reason: preference === 'jspi' ? 'JSPI build requested' : 'WebAssembly.Suspending exists: JSPI build (stored Blobs stream into sessions)',
    };
  }
  if (preference === 'jspi') {
    throw new OrtWebBuildError('the JSPI build of onnxruntime-web was requested, but this browser has no WebAssembly.Suspending (JSPI needs Chromium 137 or later); use ortBuild "auto" or "asyncify"');
  }
  return { build: 'asyncify', reason: 'no WebAssembly.Suspending: asyncify build (external data is read whole into memory)' };
}

let loaded: Promise<LoadedOrtWeb> | undefined;
let loadedBuild: OrtWebBuild | undefined;

/** The realm's onnxruntime-web module: chosen and imported on the first call, the same module afterwards. */
export function loadOrtWeb(preference: OrtWebBuildPreference = 'auto'): Promise<LoadedOrtWeb> {
  if (loaded) {
    if (preference !== 'auto' && preference !== loadedBuild) {
      return Promise.reject(new OrtWebBuildError(`this worker already runs onnxruntime-web's ${loadedBuild} build; a different build (${preference}) needs a new worker`));
    }
    return loaded;
  }
  let decision: OrtWebBuildDecision;
  try {
    decision = chooseOrtWebBuild(preference, hasJspi());
  } catch (e) {
    return Promise.reject(e);
  }
  loadedBuild = decision.build;
  const module = decision.build === 'jspi' ? import('onnxruntime-web/jspi') : import('onnxruntime-web/webgpu');
  loaded = module.then((ort) => ({ ...decision, ort: ort as unknown as OrtWebModule }));
  loaded.catch(() => {
    loaded = undefined;
    loadedBuild = undefined;
  });
  return loaded;
}
