/**
 * Page side of the browser WASM bench: each request runs in a fresh dedicated worker (onnxruntime-web fixes its
 * WASM thread count at its first initialisation in a realm, so another thread count needs another worker).
 */
import type { BenchWasmApi, BenchWasmRequest, BenchWasmResult } from './bench-wasm-api.ts';

const api = globalThis as unknown as BenchWasmApi;

api.benchWasm = (request: BenchWasmRequest) => new Promise<BenchWasmResult>((resolve, reject) => {
  const worker = new Worker(new URL('./bench-wasm.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<{ ok: true; result: BenchWasmResult } | { ok: false; error: string }>) => {
    worker.terminate();
    if (e.data.ok) resolve(e.data.result);
    else reject(new Error(e.data.error));
  };
  worker.onerror = (e) => {
    worker.terminate();
    reject(new Error(`bench worker failed: ${e.message}`));
  };
  worker.postMessage(request);
});
api.benchWasmReady = true;
