/**
 * The client surface of docs/api-contract.md §1: the hosted client's calls (`subscribe`, `queue.*`,
 * `storage.upload`, `config`) answered by the generator worker on this machine.
 *
 * `createSoteClient(options)` makes a client with injectable parts (the generator runner or a worker factory,
 * model source, persistence); `sote` (also exported as `fal`) is the page's default client, created on first use
 * — or by `installSote(window, options)`, which also sets `window.sote`. The safety checker runs in the generator
 * worker, with the model the model source names (see generator-runner.ts). Only one default client exists per
 * page: two clients on the same IndexedDB store would both resume the same requests.
 *
 * Which model answers: the model source's choice. The generator page passes its own runner and "the model
 * selected on the page"; a standalone client uses SoteDiffusion V2 from the model store, installing it on the
 * first request (download progress in the request's logs) with config({ credentials }) as the token for
 * huggingface.co only.
 */
import { UnknownEndpointError } from './api-errors.ts';
import { SOTEDIFFUSION_V2 } from '../store/catalogue.ts';
import { defaultWorkerFactory, GeneratorRunner, installedModelSource, type ModelSource, type WorkerFactory } from './generator-runner.ts';
import type { SoteInputParams } from './input-schema.ts';
import { RequestQueue } from './queue.ts';
import type { CompletedStatus, QueueStatus, SoteResult, SubmitResult } from './queue-types.ts';
import { indexedDbRequestStore, type RequestStore } from './request-store.ts';
import type { WebhookOptions } from './webhook.ts';

export const SOTE_DIFFUSION_ENDPOINT = 'fal-ai/stable-cascade/sote-diffusion';
export const KNOWN_ENDPOINTS: readonly string[] = [SOTE_DIFFUSION_ENDPOINT];
export type EndpointId = typeof SOTE_DIFFUSION_ENDPOINT;

export interface SoteClientOptions {
  /**
   * The worker owner to share (the generator page passes its own, so page and API use one worker). When given,
   * workerFactory is ignored.
   */
  runner?: GeneratorRunner;
  /** @default a module Worker on workers/generator.worker.ts */
  workerFactory?: WorkerFactory;
  /** @default SoteDiffusion V2 from the model store, installed on first use (installedModelSource) */
  modelSource?: ModelSource;
  /** Told of every config() call (the page's Models panel uses the credentials for its own installs). */
  onConfig?: (config: SoteConfig) => void;
  /** @default IndexedDB (databases sote-requests, sote-results); null keeps requests in memory only */
  store?: RequestStore | null;
  webhook?: WebhookOptions;
}

export interface SoteConfig {
  /** A Hugging Face access token, used ONLY for model downloads from huggingface.co. */
  credentials?: string;
}

export interface RequestOptions {
  input: SoteInputParams;
  webhookUrl?: string;
}

export interface SubscribeOptions extends RequestOptions {
  logs?: boolean;
  onQueueUpdate?: (status: QueueStatus) => void;
  /** Called with the request id once it is queued (as the hosted client's onEnqueue). */
  onEnqueue?: (requestId: string) => void;
  /** Aborting cancels the request and rejects with the signal's reason. */
  abortSignal?: AbortSignal;
}

export interface StatusOptions {
  requestId: string;
  logs?: boolean;
}

export interface SubscribeToStatusOptions extends StatusOptions {
  onQueueUpdate?: (status: QueueStatus) => void;
}

export interface SoteQueue {
  submit(endpointId: string, options: RequestOptions): Promise<SubmitResult>;
  status(endpointId: string, options: StatusOptions): Promise<QueueStatus>;
  subscribeToStatus(endpointId: string, options: SubscribeToStatusOptions): Promise<CompletedStatus>;
  result(endpointId: string, options: { requestId: string }): Promise<SoteResult>;
  cancel(endpointId: string, options: { requestId: string }): Promise<void>;
}

export interface SoteClient {
  config(config: SoteConfig): void;
  subscribe(endpointId: string, options: SubscribeOptions): Promise<SoteResult>;
  queue: SoteQueue;
  storage: { upload(file: Blob): Promise<string> };
  /** Resolves once persisted requests are restored (and interrupted ones queued again). */
  readonly ready: Promise<void>;
  /** Request ids in submission order (this client's history). */
  listRequests(): Promise<string[]>;
}

function checkEndpoint(endpointId: string): void {
  if (!KNOWN_ENDPOINTS.includes(endpointId)) throw new UnknownEndpointError(endpointId, KNOWN_ENDPOINTS);
}

/** Runs `fn` after the endpoint check, turning a synchronous throw into a rejection (as an HTTP client would). */
async function onEndpoint<T>(endpointId: string, fn: () => Promise<T>): Promise<T> {
  checkEndpoint(endpointId);
  return fn();
}

export function createSoteClient(options: SoteClientOptions = {}): SoteClient {
  let credentials: string | undefined;
  const runner = options.runner ?? new GeneratorRunner(options.workerFactory ?? defaultWorkerFactory);
  const modelSource = options.modelSource ?? installedModelSource(SOTEDIFFUSION_V2);
  const queue = new RequestQueue({
    runner: {
      run: (request, o) => runner.run(request, o, modelSource),
      get modelName() {
        return runner.modelName;
      },
    },
    store: options.store === null ? undefined : (options.store ?? indexedDbRequestStore()),
    webhook: options.webhook,
    credentials: () => credentials,
  });

  const api: SoteQueue = {
    submit: (endpointId, o) => onEndpoint(endpointId, () => queue.submit(endpointId, o.input, o.webhookUrl)),
    status: (endpointId, o) => onEndpoint(endpointId, () => queue.status(o.requestId, o.logs ?? false)),
    subscribeToStatus: (endpointId, o) => onEndpoint(endpointId, () => queue.subscribeToStatus(o.requestId, o.logs ?? false, o.onQueueUpdate)),
    result: (endpointId, o) => onEndpoint(endpointId, () => queue.result(o.requestId)),
    cancel: (endpointId, o) => onEndpoint(endpointId, () => queue.cancel(o.requestId)),
  };

  return {
    config(config) {
      credentials = config.credentials;
      options.onConfig?.(config);
    },
    async subscribe(endpointId, o) {
      checkEndpoint(endpointId);
      o.abortSignal?.throwIfAborted();
      const { request_id: requestId } = await queue.submit(endpointId, o.input, o.webhookUrl);
      o.onEnqueue?.(requestId);
      const run = (async () => {
        await queue.subscribeToStatus(requestId, o.logs ?? false, o.onQueueUpdate);
        return queue.result(requestId);
      })();
      const signal = o.abortSignal;
      if (!signal) return run;
      return new Promise<SoteResult>((resolve, reject) => {
        const onAbort = () => {
          void queue.cancel(requestId);
          reject(signal.reason);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    },
    queue: api,
    storage: {
      // This endpoint takes no file inputs; a blob: URL is what a page-local input URL can be. It lives as long
      // as the page (not persisted).
      upload: async (file) => URL.createObjectURL(file),
    },
    ready: queue.ready,
    listRequests: () => queue.list(),
  };
}

let defaultClient: SoteClient | undefined;

/** The page's default client (created with default options on first use unless installSote ran first). */
export function defaultSoteClient(): SoteClient {
  return (defaultClient ??= createSoteClient());
}

/**
 * `sote` / `fal`: the default client, created lazily so that importing this module starts no worker and opens no
 * database; its first call restores persisted requests.
 */
export const sote: SoteClient = {
  config: (c) => defaultSoteClient().config(c),
  subscribe: (id, o) => defaultSoteClient().subscribe(id, o),
  queue: {
    submit: (id, o) => defaultSoteClient().queue.submit(id, o),
    status: (id, o) => defaultSoteClient().queue.status(id, o),
    subscribeToStatus: (id, o) => defaultSoteClient().queue.subscribeToStatus(id, o),
    result: (id, o) => defaultSoteClient().queue.result(id, o),
    cancel: (id, o) => defaultSoteClient().queue.cancel(id, o),
  },
  storage: { upload: (f) => defaultSoteClient().storage.upload(f) },
  get ready() {
    return defaultSoteClient().ready;
  },
  listRequests: () => defaultSoteClient().listRequests(),
};

export { sote as fal };

declare global {
  interface Window {
    sote?: SoteClient;
  }
}

/**
 * Creates the default client with `options` (now, so persisted requests resume as the page opens) and sets
 * `win.sote`. Throws if the default client already exists with other options.
 */
export function installSote(win: Window, options?: SoteClientOptions): SoteClient {
  if (defaultClient && options) throw new Error('installSote: the default sote client already exists; call installSote before any other use of sote');
  const client = (defaultClient ??= createSoteClient(options));
  win.sote = sote;
  return client;
}
