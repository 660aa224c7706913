/**
 * Test page for src/safety/safety-checker.ts: the real transformers.js image-classification pipeline running on
 * the same onnxruntime-web module the generator worker imports ('onnxruntime-web/webgpu'), with the model folder
 * served by a separate static server (the test counts its requests). Images are made here (flat colours) and
 * only summaries go back to the test.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { GeneratedImage } from '../../src/pipeline/text-to-image.ts';
import { applySafetyChecker, lazySafetyChecker, safetyLogMessage, type SafetyEvent, type SharedOrt } from '../../src/safety/safety-checker.ts';

export interface SafetyRunRequest {
  /** URL prefix holding <modelId>/config.json, preprocessor_config.json, onnx/model.onnx (ends with '/'). */
  modelBase: string;
  modelId: string;
  device: 'wasm' | 'webgpu';
  enabled: boolean;
  images: { width: number; height: number; level: number }[];
}

export interface SafetyRunSummary {
  has_nsfw_concepts: boolean[];
  nsfwProbability: (number | null)[];
  images: { width: number; height: number; bytes: number; allZero: boolean; unchanged: boolean; sameObject: boolean }[];
  timings: { safety_checker?: number };
  events: SafetyEvent[];
  log: string[];
  ms: number;
}

export interface SafetyPageState {
  /** transformers.js was imported (it publishes nothing itself; we set the symbol right before importing it). */
  transformersImported: boolean;
  /** The symbol holds exactly our module. */
  sharesOurOrt: boolean;
  /** ort.env.wasm.wasmPaths after transformers.js' import (must stay unset: no CDN default). */
  wasmPaths: string;
  /** Every .wasm/.mjs resource the page fetched whose name starts with "ort". */
  ortResources: string[];
}

declare global {
  interface Window {
    soteSafetyReady?: boolean;
    soteSafety?: { run(req: SafetyRunRequest): Promise<SafetyRunSummary>; state(): SafetyPageState };
  }
}

// One WASM thread: the page only classifies 32² inputs, and thread start-up would dominate.
ort.env.wasm.numThreads = 1;
const sharedOrt = ort as unknown as SharedOrt;
const checkers = new Map<string, ReturnType<typeof lazySafetyChecker>>();

window.soteSafety = {
  async run(req) {
    const key = `${req.modelBase}|${req.modelId}|${req.device}`;
    let lazy = checkers.get(key);
    if (!lazy) {
      lazy = lazySafetyChecker({ ort: sharedOrt, modelId: req.modelId, modelBase: req.modelBase, device: req.device });
      checkers.set(key, lazy);
    }
    const input: GeneratedImage[] = req.images.map((s) => ({ width: s.width, height: s.height, rgb: new Uint8Array(s.width * s.height * 3).fill(s.level) }));
    const events: SafetyEvent[] = [];
    const started = performance.now();
    const checker = lazy;
    const r = await applySafetyChecker(input, req.enabled, () => checker.get(), (e) => events.push(e));
    const ms = performance.now() - started;
    return {
      has_nsfw_concepts: r.has_nsfw_concepts,
      nsfwProbability: r.nsfwProbability,
      images: r.images.map((im, i) => ({
        width: im.width,
        height: im.height,
        bytes: im.rgb.length,
        allZero: im.rgb.every((v) => v === 0),
        unchanged: im.rgb.every((v) => v === req.images[i].level),
        sameObject: im === input[i],
      })),
      timings: r.timings,
      events,
      log: events.map(safetyLogMessage),
      ms,
    };
  },
  state() {
    const published = (globalThis as unknown as Record<symbol, unknown>)[Symbol.for('onnxruntime')];
    return {
      transformersImported: published !== undefined,
      sharesOurOrt: published === ort,
      wasmPaths: JSON.stringify(ort.env.wasm.wasmPaths ?? null),
      ortResources: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\/ort[^/]*\.(wasm|mjs)(\?|$)/.test(n)),
    };
  },
};
window.soteSafetyReady = true;
