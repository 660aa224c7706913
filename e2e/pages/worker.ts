/**
 * Test page for workers/generator.worker.ts: creates the worker exactly as the app does (module Worker from a
 * URL relative to this module), talks to it only through src/client/protocol.ts, and keeps the received RGB
 * bytes here so the test can compare images without shipping them through Playwright.
 */
import {
  connectGenerator,
  GenerationCancelledError,
  ModelNotLoadedError,
  SoteError,
  withEvents,
  type GenerationRequest,
  type GeneratorClient,
  type LoadRequest,
  type LoadResult,
  type WorkerEvent,
} from '../../src/client/protocol.ts';

/** What a run returns to the test (JSON-safe: no bigint, no bytes). */
export interface RunSummary {
  load: LoadResult;
  /** Every event except previews and steps, in order, as received by the page. */
  events: WorkerEvent[];
  steps: number;
  images: { width: number; height: number; bytes: number; distinctValues: number; mean: number }[];
  readbacks: number;
  seed: string;
  backend: string;
  timings: Record<string, number>;
  /** Wall-clock milliseconds of generate() seen from the page. */
  generateMs: number;
}

export interface ImageDiff {
  /** max over all bytes of |a − b| in 8-bit levels. */
  maxDiff: number;
  /** Number of bytes (channel values) that differ. */
  differing: number;
  total: number;
}

export interface ErrorReport {
  /** `instanceof` the expected class on the page side. */
  isExpectedClass: boolean;
  isSoteError: boolean;
  name: string;
  message: string;
  remedy: string | undefined;
}

const images = new Map<string, Uint8Array[]>();

function newClient(): { client: GeneratorClient; worker: Worker } {
  const worker = new Worker(new URL('../../workers/generator.worker.ts', import.meta.url), { type: 'module' });
  return { client: connectGenerator(worker), worker };
}

async function run(label: string, load: LoadRequest, request: GenerationRequest): Promise<RunSummary> {
  const { client, worker } = newClient();
  try {
    const events: WorkerEvent[] = [];
    let steps = 0;
    const onEvent = withEvents((e) => {
      if (e.type === 'step') steps++;
      else if (e.type !== 'preview') events.push(e);
    });
    const loaded = await client.load(load, onEvent);
    const t0 = performance.now();
    const result = await client.generate(request, onEvent);
    const generateMs = performance.now() - t0;
    images.set(label, result.images.map((i) => i.rgb));
    await client.release();
    return {
      load: loaded,
      events,
      steps,
      images: result.images.map((i) => {
        let sum = 0;
        for (const v of i.rgb) sum += v;
        return { width: i.width, height: i.height, bytes: i.rgb.length, distinctValues: new Set(i.rgb).size, mean: sum / i.rgb.length };
      }),
      readbacks: result.readbacks,
      seed: String(result.seed),
      backend: result.backend,
      timings: result.timings,
      generateMs,
    };
  } finally {
    worker.terminate();
  }
}

function compare(a: string, b: string): ImageDiff {
  const x = images.get(a)?.[0];
  const y = images.get(b)?.[0];
  if (!x || !y) throw new Error(`no image stored under ${x ? b : a}`);
  if (x.length !== y.length) throw new Error(`sizes differ: ${x.length} vs ${y.length}`);
  let maxDiff = 0;
  let differing = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (d) differing++;
    if (d > maxDiff) maxDiff = d;
  }
  return { maxDiff, differing, total: x.length };
}

/** The RGB bytes of a stored run's first image, as plain numbers (for comparisons with reference data in Node). */
function imageBytes(label: string): number[] {
  const x = images.get(label)?.[0];
  if (!x) throw new Error(`no image stored under ${label}`);
  return Array.from(x);
}

function report(e: unknown, expected: abstract new (...args: never[]) => Error): ErrorReport {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    isExpectedClass: err instanceof expected,
    isSoteError: err instanceof SoteError,
    name: err.name,
    message: err.message,
    remedy: err instanceof SoteError ? err.remedy : undefined,
  };
}

/** load() only (backend choice, events), without generating: the slow WebGPU fallback adapter makes a generate costly. */
async function loadOnly(load: LoadRequest): Promise<{ load: LoadResult; events: WorkerEvent[] }> {
  const { client, worker } = newClient();
  try {
    const events: WorkerEvent[] = [];
    const loaded = await client.load(load, withEvents((e) => void events.push(e)));
    await client.release();
    return { load: loaded, events };
  } finally {
    worker.terminate();
  }
}

/** generate() before load(): must reject with ModelNotLoadedError, class intact on the page. */
async function generateWithoutModel(request: GenerationRequest): Promise<ErrorReport> {
  const { client, worker } = newClient();
  try {
    await client.generate(request);
    throw new Error('generate() without a model resolved');
  } catch (e) {
    return report(e, ModelNotLoadedError);
  } finally {
    worker.terminate();
  }
}

/** Cancels a generation after its first step event: must reject with GenerationCancelledError. */
async function cancelAfterFirstStep(load: LoadRequest, request: GenerationRequest): Promise<ErrorReport & { cancelled: boolean; stepsSeen: number }> {
  const { client, worker } = newClient();
  try {
    await client.load(load);
    let stepsSeen = 0;
    let cancelled: Promise<boolean> | undefined;
    const pending = client.generate(request, withEvents((e) => {
      if (e.type !== 'step') return;
      stepsSeen++;
      cancelled ??= client.cancel();
    }));
    try {
      await pending;
      throw new Error('the cancelled generation resolved');
    } catch (e) {
      return { ...report(e, GenerationCancelledError), cancelled: (await cancelled) ?? false, stepsSeen };
    }
  } finally {
    worker.terminate();
  }
}

declare global {
  interface Window {
    soteWorkerReady?: boolean;
    soteWorker?: {
      run: typeof run;
      loadOnly: typeof loadOnly;
      compare: typeof compare;
      imageBytes: typeof imageBytes;
      generateWithoutModel: typeof generateWithoutModel;
      cancelAfterFirstStep: typeof cancelAfterFirstStep;
    };
  }
}

window.soteWorker = { run, loadOnly, compare, imageBytes, generateWithoutModel, cancelAfterFirstStep };
window.soteWorkerReady = true;
