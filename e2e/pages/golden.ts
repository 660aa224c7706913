/**
 * Test page (and, loaded as a module Worker, its worker): builds the golden Stage C graph with the project's
 * TypeScript compiler in the browser, binds the golden weights read over HTTP Range, runs it with
 * onnxruntime-web (`onnxruntime-web/webgpu`, which serves both the 'webgpu' and the 'wasm' EP) and returns
 * max|diff|/max|ref| against the golden PyTorch output.
 *
 * The page exposes `window.goldenStageC(urls, ep, options)`; with worker: true (the default) the work runs in
 * a module Worker created from this same file, which is how the app runs models.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { parseStageCConfig } from '../../src/models/cascade-config.ts';
import { checkpointSource } from '../../src/models/checkpoint-source.ts';
import { compileInMemory } from '../../src/models/compile.ts';
import { buildStageC } from '../../src/models/stage-c.ts';
import { httpSource } from '../../src/weights/byte-source.ts';
import { SafetensorsFile } from '../../src/weights/safetensors.ts';

export type GoldenEp = 'wasm' | 'webgpu';

export interface GoldenUrls {
  config: string;
  weights: string;
  forward: string;
}

export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  shaderF16: boolean;
}

export interface GoldenResult {
  ep: GoldenEp;
  context: 'worker' | 'page';
  crossOriginIsolated: boolean;
  wasmThreads: number;
  /** WebGPU only: the adapter navigator.gpu.requestAdapter() returned. */
  adapter?: AdapterReport;
  inputNames: string[];
  outputDims: number[];
  /** max|out − ref| / max|ref| against the golden `output`. */
  rel: number;
  maxAbs: number;
  ms: { build: number; session: number; run: number };
}

/** The slice of the WebGPU API used here (the project's TS lib has no WebGPU types). */
interface GpuAdapterLike {
  readonly features: { has(name: string): boolean };
  readonly info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}
interface NavigatorGpu {
  gpu?: { requestAdapter(options?: object): Promise<GpuAdapterLike | null> };
}

export interface GoldenOptions {
  /** Run in a module Worker made from this file (default) or on the page's main thread. */
  worker?: boolean;
  /** buildStageC's fusedAttention: com.microsoft MultiHeadAttention or MatMul/Softmax (default). */
  fusedAttention?: boolean;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

type Request = { urls: GoldenUrls; ep: GoldenEp; options: GoldenOptions };
type Reply = { ok: true; result: GoldenResult } | { ok: false; error: string };

const isWorker = typeof window === 'undefined';

async function requestAdapter(): Promise<AdapterReport> {
  const gpu = (navigator as Navigator & NavigatorGpu).gpu;
  if (!gpu) throw new Error('navigator.gpu is missing: this browser context has no WebGPU');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null (Chromium needs --enable-unsafe-webgpu without a GPU)');
  return {
    vendor: adapter.info?.vendor ?? '',
    architecture: adapter.info?.architecture ?? '',
    description: adapter.info?.description ?? '',
    isFallbackAdapter: adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    shaderF16: adapter.features.has('shader-f16'),
  };
}

let ortConfigured = false;
function configureOrt(): number {
  if (!ortConfigured) {
    // More than one WASM thread needs SharedArrayBuffer, i.e. the COOP/COEP headers vite.config.ts sets.
    ort.env.wasm.numThreads = crossOriginIsolated ? Math.min(2, navigator.hardwareConcurrency || 1) : 1;
    ortConfigured = true;
  }
  return ort.env.wasm.numThreads ?? 1;
}

async function runGolden({ urls, ep, options }: Request): Promise<GoldenResult> {
  const wasmThreads = configureOrt();
  const adapter = ep === 'webgpu' ? await requestAdapter() : undefined;

  const t0 = performance.now();
  const configResponse = await fetch(urls.config);
  if (!configResponse.ok) throw new Error(`${urls.config}: ${configResponse.status} ${configResponse.statusText}`);
  const config = parseStageCConfig(await configResponse.json());
  const weights = await SafetensorsFile.open(httpSource(urls.weights));
  const io = await SafetensorsFile.open(httpSource(urls.forward));
  const model = await compileInMemory(buildStageC(config, { conditionInputs: true, fusedAttention: options.fusedAttention }), checkpointSource([weights], 'stage_c'));
  const t1 = performance.now();

  const session = await ort.InferenceSession.create(model.model, {
    executionProviders: [ep],
    externalData: model.externalData.map((e) => ({ path: e.path, data: e.data })),
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
  });
  const t2 = performance.now();
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      if (!io.tensors.has(name)) throw new Error(`the golden forward file has no input "${name}"`);
      feeds[name] = new ort.Tensor('float32', await io.readFloat32(name), [...io.info(name).shape]);
    }
    const out = await session.run(feeds);
    const t3 = performance.now();
    const outName = session.outputNames.includes('output') ? 'output' : session.outputNames[0];
    const actual = out[outName].data as Float32Array;
    const ref = await io.readFloat32('output');
    if (actual.length !== ref.length) throw new Error(`output has ${actual.length} values, golden has ${ref.length}`);
    let maxAbs = 0;
    let mag = 0;
    for (let i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(actual[i] - ref[i]));
      mag = Math.max(mag, Math.abs(ref[i]));
    }
    if (Number.isNaN(maxAbs)) maxAbs = Infinity;
    return {
      ep,
      context: isWorker ? 'worker' : 'page',
      crossOriginIsolated,
      wasmThreads,
      adapter,
      inputNames: [...session.inputNames],
      outputDims: [...out[outName].dims],
      rel: mag === 0 ? maxAbs : maxAbs / mag,
      maxAbs,
      ms: { build: t1 - t0, session: t2 - t1, run: t3 - t2 },
    };
  } finally {
    await session.release();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

declare global {
  interface Window {
    goldenReady?: boolean;
    goldenStageC?: (urls: GoldenUrls, ep: GoldenEp, options?: GoldenOptions) => Promise<GoldenResult>;
  }
}

if (isWorker) {
  const scope = globalThis as unknown as {
    addEventListener(type: 'message', listener: (e: MessageEvent<Request>) => void): void;
    postMessage(message: Reply): void;
  };
  scope.addEventListener('message', (e) => {
    runGolden(e.data).then(
      (result) => scope.postMessage({ ok: true, result }),
      (err: unknown) => scope.postMessage({ ok: false, error: errorText(err) }),
    );
  });
} else {
  const inWorker = (request: Request) =>
    new Promise<GoldenResult>((resolve, reject) => {
      const worker = new Worker(new URL('./golden.ts', import.meta.url), { type: 'module' });
      const done = () => worker.terminate();
      worker.addEventListener('message', (e: MessageEvent<Reply>) => {
        done();
        if (e.data.ok) resolve(e.data.result);
        else reject(new Error(`in the worker: ${e.data.error}`));
      });
      worker.addEventListener('error', (e) => {
        done();
        reject(new Error(`worker error: ${e.message || 'failed to load the worker script'}`));
      });
      worker.postMessage(request);
    });
  window.goldenStageC = (urls, ep, options = {}) =>
    (options.worker ?? true) ? inWorker({ urls, ep, options }) : runGolden({ urls, ep, options });
  window.goldenReady = true;
}
