/**
 * Owns THE generator worker of a page: the page's form, its Models panel and the queue API (window.sote) all go
 * through one GeneratorRunner, so one model is resident, one GPU device exists, and generations from the page
 * and from the API take turns instead of fighting over the worker.
 *
 * Invariants:
 * - `generate` calls run one at a time (a runner-level lock around load + generate): the worker holds one
 *   model, so a load for caller A between caller B's load and generate would make B generate with A's model;
 * - a model is (re)loaded when the load request differs from the loaded one;
 * - on a WebGPU device loss the worker is replaced (a fresh onnxruntime instance requests a fresh GPUDevice:
 *   onnxruntime-web keeps its device for the life of its module, so reloading in the same worker would reuse the
 *   dead one), the model is loaded again and the request is retried ONCE; a second loss surfaces as
 *   DeviceLostError. The old worker is released at once and terminated when no store call (install, import,
 *   export, verify) is running in it, so a download in progress is not cut off;
 * - "not loaded" (e.g. the Models panel deleted the loaded model) reloads in the same worker and retries once;
 * - cancel reaches the worker even when it arrives before the worker started the generation: the abort is
 *   re-sent on the first event of the run (the worker's cancel() only sees a generation already running).
 */
import { formatBytes } from '../core/format-bytes.ts';
import {
  connectGenerator,
  DeviceLostError,
  GenerationCancelledError,
  ModelNotLoadedError,
  withEvents,
  withInstallEvents,
  type BackendPreference,
  type GenerateResult,
  type GeneratorClient,
  type InstallEvent,
  type LoadRequest,
  type LoadResult,
  type ModelCheckResult,
  type ModelDescriptor,
  type Precision,
  type WorkerEvent,
  type WorkerGenerateRequest,
} from './protocol.ts';

/** One generation on the loaded model; an abort reaches the worker even before its generation started. */
async function generateWith(client: GeneratorClient, request: WorkerGenerateRequest, onEvent: (e: WorkerEvent) => void, signal?: AbortSignal): Promise<GenerateResult> {
  const onAbort = () => void client.cancel();
  signal?.addEventListener('abort', onAbort);
  try {
    return await client.generate(request, withEvents((e) => {
      if (signal?.aborted) void client.cancel();
      onEvent(e);
    }));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Creates a module Worker running workers/generator.worker.ts. */
export type WorkerFactory = () => Worker;

export interface ModelSourceContext {
  /** The token given to config({ credentials }) (see installedModelSource for where it may be sent). */
  credentials: string | undefined;
  /** The runner's current worker: a source may install its model through the store API first. */
  client: GeneratorClient;
  /** Progress of what the source does (an install) as log events for the request's logs. */
  onEvent: (event: WorkerEvent) => void;
  /** The endpoint the request was made to (sote.ts answers each endpoint with its own model by default). */
  endpointId?: string;
}

/** Which model package to load (and on which backend). Called before every run; equal answers reuse the loaded model. */
export type ModelSource = (context: ModelSourceContext) => LoadRequest | Promise<LoadRequest>;

export const DEMO_MODEL_PATH = 'models/tiny-demo/';
/** DEMO_SAFETY_MODEL_ID of src/models/demo-model.ts (not imported: that module brings the demo builder along). */
export const DEMO_SAFETY_MODEL_ID = 'tiny-demo-safety';

/**
 * The built-in demo package with its tiny safety checker (flags near-white images), served by the page at
 * `{base}models/`. The URLs are made absolute against the page: the worker (in the library build a file under
 * assets/) would resolve a relative one against its own location.
 */
export const demoModelSource: ModelSource = () => {
  const base = new URL(import.meta.env?.BASE_URL ?? '/', globalThis.document?.baseURI ?? globalThis.location?.href).href;
  return { modelUrl: `${base}${DEMO_MODEL_PATH}`, safetyChecker: { modelBase: `${base}models/`, modelId: DEMO_SAFETY_MODEL_ID } };
};

/** Origins config({ credentials }) may be sent to (docs/api-contract.md: "used ONLY for model downloads from huggingface.co"). */
export const CREDENTIAL_ORIGINS: readonly string[] = ['https://huggingface.co'];

export interface InstalledModelSourceOptions {
  /** @default the worker's recommendation for this device (install) / any installed precision (reuse) */
  precision?: Precision;
  backend?: BackendPreference;
  /** Hub origins that may receive config({ credentials }). @default CREDENTIAL_ORIGINS */
  credentialOrigins?: readonly string[];
}

/** The token to send for a descriptor: only to an allowed hub origin, never to a mirror or a package URL. */
export function credentialsFor(descriptor: ModelDescriptor, credentials: string | undefined, allowed: readonly string[] = CREDENTIAL_ORIGINS): string | undefined {
  if (!credentials || descriptor.source.kind !== 'checkpoints') return undefined;
  return allowed.includes(new URL(descriptor.source.hub).origin) ? credentials : undefined;
}

/** Download progress as a few log lines: each file verified, and overall progress every 10 %. */
function installLogger(onEvent: (event: WorkerEvent) => void): (e: InstallEvent) => void {
  let lastDecile = -1;
  return (e) => {
    const log = (message: string, level: 'INFO' | 'WARN' = 'INFO') => onEvent({ type: 'log', level, message });
    switch (e.type) {
      case 'quota':
        return log(`model install: needs ${formatBytes(e.needed)} of storage (${formatBytes(e.quota - e.usage)} free)`);
      case 'download': {
        const { bytesDone, bytesTotal } = e.overall;
        if (!bytesTotal) return;
        const decile = Math.floor((10 * bytesDone) / bytesTotal);
        if (decile > lastDecile) {
          lastDecile = decile;
          log(`model download ${decile * 10} % (${formatBytes(bytesDone)} of ${formatBytes(bytesTotal)})`);
        }
        return;
      }
      case 'download-retry':
        return log(`model download: ${e.file} attempt ${e.attempt} failed (${e.reason}); retrying in ${(e.delayMs / 1000).toFixed(1)} s`, 'WARN');
      case 'verify':
        return log(`model download: ${e.file} ${e.ok ? 'verified' : 'FAILED verification'} (${e.algorithm})`, e.ok ? 'INFO' : 'WARN');
      case 'component-done':
        return log(`model install: ${e.kind} converted (${formatBytes(e.bytes)})`);
      case 'installed':
        return log(`model installed as ${e.id}`);
      default:
        return;
    }
  };
}

/**
 * A model from the store: the installed copy of `descriptor` if there is one, otherwise it is installed first
 * (download, verify, convert; progress in the request's logs), with config({ credentials }) as the hub token
 * when the hub is an allowed origin. Standalone clients use this with SoteDiffusion V2. Cancelling the request
 * does not stop the install (it is the model's, not the request's: it finishes for the next request, or stops
 * with the store's cancelInstall() and resumes later).
 */
export function installedModelSource(descriptor: ModelDescriptor, options: InstalledModelSourceOptions = {}): ModelSource {
  return async ({ client, credentials, onEvent }) => {
    const listed = await client.listModels();
    const have = listed.find((m) => m.descriptorId === descriptor.id && (!options.precision || m.precision === options.precision));
    let id = have?.id;
    if (!id) {
      const token = credentialsFor(descriptor, credentials, options.credentialOrigins);
      onEvent({ type: 'log', level: 'INFO', message: `model ${descriptor.name} is not installed: installing it${token ? ' (with the configured credentials)' : ''}` });
      const model = await client.install(descriptor, { ...(options.precision ? { precision: options.precision } : {}), ...(token ? { token } : {}) }, withInstallEvents(installLogger(onEvent)));
      id = model.id;
    }
    return { modelId: id, ...(options.backend ? { backend: options.backend } : {}) };
  };
}

export const defaultWorkerFactory: WorkerFactory = () =>
  new Worker(new URL('../../workers/generator.worker.ts', import.meta.url), { type: 'module' });

export interface GenerateOptions {
  signal?: AbortSignal;
  onEvent?: (event: WorkerEvent) => void;
}

export interface RunOptions {
  signal: AbortSignal;
  onEvent: (event: WorkerEvent) => void;
  credentials: string | undefined;
  /** Passed on to the model source. */
  endpointId?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How often a retired worker is asked whether its store calls finished. */
const RETIRE_POLL_MS = 2000;

export class GeneratorRunner {
  private worker: Worker | undefined;
  private current: GeneratorClient | undefined;
  private loadedKey: string | undefined;
  private loadedModel: LoadResult | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** Workers replaced after a device loss (observable by tests). */
  replacedWorkers = 0;

  constructor(private readonly factory: WorkerFactory = defaultWorkerFactory) {}

  /** The current worker (created on first use). Store calls go here; after a replacement, to the new one. */
  client(): GeneratorClient {
    if (!this.current) {
      this.worker = this.factory();
      this.current = connectGenerator(this.worker);
    }
    return this.current;
  }

  /** Name of the loaded model package (for PNG metadata), once one is loaded. */
  get modelName(): string | undefined {
    return this.loadedModel?.model.name;
  }

  /**
   * The queue's entry point: `modelSource` names the model, then `generate`. The safety checker runs in the
   * worker (request.enableSafetyChecker); a model without one makes enabled requests fail with
   * SafetyCheckerUnavailableError.
   */
  async run(request: WorkerGenerateRequest, options: RunOptions, modelSource: ModelSource): Promise<GenerateResult> {
    const load = await modelSource({
      credentials: options.credentials, client: this.client(), onEvent: options.onEvent,
      ...(options.endpointId !== undefined ? { endpointId: options.endpointId } : {}),
    });
    // Cancelled while the source installed the model: the same error as a cancel at any other point.
    if (options.signal.aborted) throw new GenerationCancelledError();
    return this.generate(load, request, options);
  }

  /** Loads `load` if it is not the loaded model, then generates (see the invariants for locking and retries). */
  generate(load: LoadRequest, request: WorkerGenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.inTurn(() => this.withModel(load, options, (client, onEvent) => generateWith(client, request, onEvent, options.signal)));
  }

  /**
   * "Test on this device" with `load` (TextToImagePipeline.check): takes its turn like a generation, loads the
   * model unless `load` is the loaded one, and retries as generate does. `signal` only stops it before it starts.
   */
  checkModel(load: LoadRequest, options: GenerateOptions = {}): Promise<ModelCheckResult> {
    return this.inTurn(() => this.withModel(load, options, (client, onEvent) => client.checkModel(withEvents(onEvent))));
  }

  /** Runs `fn` after every call queued before it (the runner-level lock of the invariants). */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    this.queued++;
    const next = this.lock.then(fn).finally(() => this.queued--);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /** Generations running or waiting their turn (the page says it is waiting when window.sote holds the worker). */
  get busy(): boolean {
    return this.queued > 0;
  }

  /** Loads `load` unless it is the loaded model, then `use`s the worker (retries: see the invariants). */
  private async withModel<T>(load: LoadRequest, options: GenerateOptions, use: (client: GeneratorClient, onEvent: (e: WorkerEvent) => void) => Promise<T>): Promise<T> {
    const { signal } = options;
    const onEvent = options.onEvent ?? (() => undefined);
    const key = JSON.stringify(load);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new GenerationCancelledError();
      const client = this.client();
      try {
        if (key !== this.loadedKey) {
          this.loadedKey = undefined;
          this.loadedModel = await client.load(load, withEvents(onEvent));
          this.loadedKey = key;
        }
        if (signal?.aborted) throw new GenerationCancelledError();
        return await use(client, onEvent);
      } catch (e) {
        if (e instanceof DeviceLostError) {
          this.replaceWorker();
          if (attempt > 0) throw e;
          onEvent({ type: 'log', level: 'WARN', message: `${e.message.split(' — ')[0]}: started a new worker (new GPU device); loading the model again and retrying once` });
          continue;
        }
        if (e instanceof ModelNotLoadedError) {
          this.loadedKey = undefined;
          if (attempt > 0) throw e;
          continue;
        }
        throw e;
      }
    }
  }

  /** Drops the current worker for a new one (created on next use); the old one is retired (see invariants). */
  private replaceWorker(): void {
    const client = this.current;
    const worker = this.worker;
    this.current = undefined;
    this.worker = undefined;
    this.loadedKey = undefined;
    this.loadedModel = undefined;
    this.replacedWorkers++;
    if (!client || !worker) return;
    void (async () => {
      await client.release().catch(() => undefined);
      while (await client.storeBusy().catch(() => false)) await sleep(RETIRE_POLL_MS);
      worker.terminate();
    })();
  }

  /** Frees the model and ends the worker. */
  async dispose(): Promise<void> {
    const { current, worker } = this;
    this.current = undefined;
    this.worker = undefined;
    this.loadedKey = undefined;
    await current?.release().catch(() => undefined);
    worker?.terminate();
  }
}
