/**
 * Owns the generator worker for the queue: creates it on first use (from an injectable factory, so tests and
 * the page share this code), loads the model from an injectable source, and runs one generation at a time.
 *
 * Invariants:
 * - the queue calls `run` for one request at a time; the worker serializes anyway, so overlap would only queue;
 * - a model is (re)loaded when the load request differs from the loaded one, and after any failure that may
 *   have invalidated it (load failure, device loss, "not loaded");
 * - cancel reaches the worker even when it arrives before the worker started the generation: the abort is
 *   re-sent on the first event of the run (the worker's cancel() only sees a generation already running).
 */
import {
  connectGenerator,
  DeviceLostError,
  GenerationCancelledError,
  ModelNotLoadedError,
  withEvents,
  type GenerateResult,
  type GeneratorClient,
  type LoadRequest,
  type LoadResult,
  type WorkerEvent,
  type WorkerGenerateRequest,
} from './protocol.ts';

/** Creates a module Worker running workers/generator.worker.ts. */
export type WorkerFactory = () => Worker;

export interface ModelSourceContext {
  /** The token given to config({ credentials }), for model downloads from huggingface.co only. */
  credentials: string | undefined;
}

/** Which model package to load (and on which backend). Called before every run; equal answers reuse the loaded model. */
export type ModelSource = (context: ModelSourceContext) => LoadRequest | Promise<LoadRequest>;

export const DEMO_MODEL_PATH = 'models/tiny-demo/';
/** DEMO_SAFETY_MODEL_ID of src/models/demo-model.ts (not imported: that module brings the demo builder along). */
export const DEMO_SAFETY_MODEL_ID = 'tiny-demo-safety';

/**
 * The built-in demo package with its tiny safety checker (flags near-white images), until the model store
 * (src/store) provides installed models.
 */
export const demoModelSource: ModelSource = () => {
  const base = import.meta.env?.BASE_URL ?? '/';
  return { modelUrl: `${base}${DEMO_MODEL_PATH}`, safetyChecker: { modelBase: `${base}models/`, modelId: DEMO_SAFETY_MODEL_ID } };
};

export const defaultWorkerFactory: WorkerFactory = () =>
  new Worker(new URL('../../workers/generator.worker.ts', import.meta.url), { type: 'module' });

export interface RunOptions {
  signal: AbortSignal;
  onEvent: (event: WorkerEvent) => void;
  credentials: string | undefined;
}

export class GeneratorRunner {
  private worker: Worker | undefined;
  private client: GeneratorClient | undefined;
  private loadedKey: string | undefined;
  private loadedModel: LoadResult | undefined;

  constructor(private readonly factory: WorkerFactory, private readonly modelSource: ModelSource) {}

  /** Name of the loaded model package (for PNG metadata), once one is loaded. */
  get modelName(): string | undefined {
    return this.loadedModel?.model.name;
  }

  /**
   * Loads the model if needed and generates. The safety checker runs in the worker (request.enableSafetyChecker);
   * a model source without a checker makes enabled requests fail with SafetyCheckerUnavailableError.
   */
  async run(request: WorkerGenerateRequest, options: RunOptions): Promise<GenerateResult> {
    const { signal, onEvent } = options;
    if (!this.client) {
      this.worker = this.factory();
      this.client = connectGenerator(this.worker);
    }
    const client = this.client;
    const load = await this.modelSource({ credentials: options.credentials });
    const key = JSON.stringify(load);
    if (key !== this.loadedKey) {
      this.loadedKey = undefined;
      this.loadedModel = await client.load(load, withEvents(onEvent));
      this.loadedKey = key;
    }
    if (signal.aborted) throw new GenerationCancelledError();
    const onAbort = () => void client.cancel();
    signal.addEventListener('abort', onAbort);
    try {
      return await client.generate(request, withEvents((e) => {
        if (signal.aborted) void client.cancel();
        onEvent(e);
      }));
    } catch (e) {
      if (e instanceof DeviceLostError || e instanceof ModelNotLoadedError) this.loadedKey = undefined;
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Frees the model and ends the worker. */
  async dispose(): Promise<void> {
    const { client, worker } = this;
    this.client = undefined;
    this.worker = undefined;
    this.loadedKey = undefined;
    await client?.release().catch(() => undefined);
    worker?.terminate();
  }
}
