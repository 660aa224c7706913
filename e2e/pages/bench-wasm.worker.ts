/**
 * Worker side of the browser WASM bench: builds the case's graph with random weights in the worker (the same
 * builders and weight source as the Node bench), loads onnxruntime-web as the generator worker does and times
 * `session.run` on the 'wasm' EP with the bench's session options.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { loadOrtWeb } from '../../src/engine/ort-web-loader.ts';
import { wasmThreadCount } from '../../src/engine/webgpu-adapter.ts';
import { compileInMemory } from '../../src/models/compile.ts';
import { randomWeightSource } from '../../src/models/demo-model.ts';
import { buildModel } from '../../src/models/registry.ts';
import { TorchGenerator } from '../../src/core/torch-generator.ts';
import type { BenchWasmRequest, BenchWasmResult, BenchWasmSizeResult } from './bench-wasm-api.ts';

/** A minimal module using one v128 instruction (as in src/cli/commands/bench.ts). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

interface OrtWithWasm {
  env: { wasm: { numThreads?: number } };
  InferenceSession: { create(m: Uint8Array, o: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
}

async function bench(request: BenchWasmRequest): Promise<BenchWasmResult> {
  const { ort: loaded, build } = await loadOrtWeb('auto');
  const ort = loaded as unknown as OrtWithWasm;
  const requestedThreads = request.threads ?? wasmThreadCount(self.crossOriginIsolated, navigator.hardwareConcurrency);
  ort.env.wasm.numThreads = requestedThreads;
  const compileStarted = performance.now();
  const ctx = buildModel(request.model, { conditionInputs: request.model.kind === 'stage_c' });
  const compiled = await compileInMemory(ctx, randomWeightSource(ctx.expected, 1234));
  const compileMs = performance.now() - compileStarted;
  const sessionStarted = performance.now();
  const session = await ort.InferenceSession.create(compiled.model, {
    executionProviders: ['wasm'],
    externalData: compiled.externalData as InferenceSession.SessionOptions['externalData'],
    graphOptimizationLevel: 'all',
  });
  const sessionMs = performance.now() - sessionStarted;
  const gen = new TorchGenerator(99);
  const sizes: BenchWasmSizeResult[] = [];
  for (const size of request.sizes) {
    const feeds: Record<string, Tensor> = {};
    for (const name of session.inputNames) {
      const dims = size.shapes[name];
      if (!dims) throw new Error(`no bench shape for input ${name}`);
      const data = name === 'r' ? new Float32Array(dims[0]).fill(0.5) : name === 'sca' || name === 'crp' ? new Float32Array(dims[0]) : gen.randn(dims);
      feeds[name] = new ort.Tensor('float32', data, dims);
    }
    const forward = async () => {
      const t = performance.now();
      await session.run(feeds);
      return performance.now() - t;
    };
    const firstMs = await forward();
    const row: BenchWasmSizeResult = { label: size.label, firstMs, runsMs: [], warmups: 1 };
    sizes.push(row);
    if (firstMs > request.coldLimitMs) {
      row.runsMs.push(firstMs);
      row.warmups = 0;
      continue;
    }
    for (let i = 1; i < request.warmups; i++, row.warmups++) await forward();
    for (let i = 0; i < request.runs; i++) row.runsMs.push(await forward());
  }
  await session.release();
  return {
    threads: ort.env.wasm.numThreads ?? 1,
    requestedThreads,
    simd: WebAssembly.validate(SIMD_PROBE),
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    build,
    compileMs,
    sessionMs,
    sizes,
    userAgent: navigator.userAgent,
  };
}

self.onmessage = (e: MessageEvent<BenchWasmRequest>) => {
  bench(e.data).then(
    (result) => self.postMessage({ ok: true, result }),
    (err: unknown) => self.postMessage({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
};
