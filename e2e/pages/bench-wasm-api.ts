/**
 * What `npm run bench` asks the bench-wasm page for and gets back: one case timed on onnxruntime-web's WASM EP in a
 * dedicated worker, loaded and configured as the app's generator worker does (ort-web-loader's build choice,
 * `wasmThreadCount(crossOriginIsolated, hardwareConcurrency)`), or with a forced thread count.
 */
import type { AnyModelConfig } from '../../src/models/registry.ts';

export interface BenchWasmRequest {
  /** A bench model config (not clip_text). */
  model: Exclude<AnyModelConfig, { kind: 'clip_text' }>;
  /** Input shapes per input name, one entry per input size (bench.ts inputSizes). */
  sizes: { label: string; shapes: Record<string, number[]> }[];
  /** WASM threads; undefined = what the app's worker picks. */
  threads?: number;
  /** Calls before the timed ones (the first call counts as one). */
  warmups: number;
  runs: number;
  /** A size whose first call takes longer than this (ms) is reported as that one cold call. */
  coldLimitMs: number;
}

export interface BenchWasmSizeResult {
  label: string;
  firstMs: number;
  runsMs: number[];
  warmups: number;
}

export interface BenchWasmResult {
  /** onnxruntime-web's thread count after initialisation (it falls back to 1 without SharedArrayBuffer). */
  threads: number;
  requestedThreads: number;
  /** WebAssembly.validate of a v128 instruction in the worker. */
  simd: boolean;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  /** onnxruntime-web build the app's loader chose ('jspi' | 'asyncify'). */
  build: string;
  compileMs: number;
  sessionMs: number;
  sizes: BenchWasmSizeResult[];
  userAgent: string;
}

export interface BenchWasmApi {
  benchWasmReady?: boolean;
  benchWasm?: (request: BenchWasmRequest) => Promise<BenchWasmResult>;
}
