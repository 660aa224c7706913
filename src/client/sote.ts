/**
 * The client surface of docs/api-contract.md §1: the hosted client's calls (@fal-ai/client 1.10: `config`, `run`,
 * `subscribe`, `stream`, `queue.*` with `streamStatus`, `storage.upload`, `streaming.stream`, `realtime` that
 * refuses) answered by the generator worker on this machine; the option semantics are in client-requests.ts.
 *
 * `createSoteClient(options)` makes a client with injectable parts (the generator runner or a worker factory,
 * model source, persistence); `sote` (also exported as `fal`) is the page's default client, created on first use
 * — or by `installSote(window, options)`, which also sets `window.sote`. The safety checker runs in the generator
 * worker, with the model the model source names (see generator-runner.ts). Only one default client exists per
 * page: two clients on the same IndexedDB store would both resume the same requests.
 *
 * Which model answers: the model source's choice. The generator page passes its own runner and "the model
 * selected on the page" (for every endpoint; each endpoint still applies its own input defaults); a standalone
 * client answers each endpoint with its own model from the model store (ENDPOINT_MODELS: SoteDiffusion V2 for
 * `…/sote-diffusion`, Stable Cascade for `fal-ai/stable-cascade`), installing it on the first request (download
 * progress in the request's logs) with config({ credentials }) as the token for huggingface.co only.
 */
import { RealtimeUnavailableError } from './api-errors.ts';
import { requestStatus, streamRequest, streamStatus, submitRequest, subscribeRequest, subscribeToStatus, untilAborted, type RequestContext } from './client-requests.ts';
import type { SoteClient, SoteConfig, SoteQueue } from './client-types.ts';
import { SOTEDIFFUSION_V2, STABLE_CASCADE } from '../store/catalogue.ts';
import { knownEndpoint, SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT, type EndpointId } from './endpoints.ts';
import { defaultWorkerFactory, GeneratorRunner, installedModelSource, type InstalledModelSourceOptions, type ModelSource, type WorkerFactory } from './generator-runner.ts';
import type { ModelDescriptor } from './protocol.ts';
import { RequestQueue } from './queue.ts';
import { indexedDbRequestStore, type RequestStore } from './request-store.ts';
import type { WebhookOptions } from './webhook.ts';

export { KNOWN_ENDPOINTS, SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT, type EndpointId } from './endpoints.ts';
export type * from './client-types.ts';

/** The model each endpoint answers with by default (the lite Stable Cascade is STABLE_CASCADE_LITE, by choice). */
export const ENDPOINT_MODELS: Readonly<Record<EndpointId, ModelDescriptor>> = {
  [SOTE_DIFFUSION_ENDPOINT]: SOTEDIFFUSION_V2,
  [STABLE_CASCADE_ENDPOINT]: STABLE_CASCADE,
};

/**
 * A model source that answers each endpoint with its model from the store (installedModelSource per endpoint);
 * a context without an endpoint is a sote-diffusion request.
 */
export function endpointModelSource(models: Readonly<Record<EndpointId, ModelDescriptor>> = ENDPOINT_MODELS, options?: InstalledModelSourceOptions): ModelSource {
  const sources = {
    [SOTE_DIFFUSION_ENDPOINT]: installedModelSource(models[SOTE_DIFFUSION_ENDPOINT], options),
    [STABLE_CASCADE_ENDPOINT]: installedModelSource(models[STABLE_CASCADE_ENDPOINT], options),
  };
  return (context) => sources[knownEndpoint(context.endpointId ?? SOTE_DIFFUSION_ENDPOINT)](context);
}

export interface SoteClientOptions {
  /**
   * The worker owner to share (the generator page passes its own, so page and API use one worker). When given,
   * workerFactory is ignored.
   */
  runner?: GeneratorRunner;
  /** @default a module Worker on workers/generator.worker.ts */
  workerFactory?: WorkerFactory;
  /** @default each endpoint's model from the model store, installed on first use (endpointModelSource) */
  modelSource?: ModelSource;
  /**
   * Told of every config() call (the page's Models panel uses the credentials for its own installs); a credentials
   * function is read at the call.
   */
  onConfig?: (config: { credentials?: string }) => void;
  /** @default IndexedDB (databases sote-requests, sote-results); null keeps requests in memory only */
  store?: RequestStore | null;
  webhook?: WebhookOptions;
}

/** Runs `fn` after the endpoint check, turning a synchronous throw into a rejection (as an HTTP client would). */
async function onEndpoint<T>(endpointId: string, fn: () => Promise<T>): Promise<T> {
  knownEndpoint(endpointId);
  return fn();
}

export function createSoteClient(options: SoteClientOptions = {}): SoteClient {
  let credentials: SoteConfig['credentials'];
  const runner = options.runner ?? new GeneratorRunner(options.workerFactory ?? defaultWorkerFactory);
  const modelSource = options.modelSource ?? endpointModelSource();
  const queue = new RequestQueue({
    runner: {
      run: (request, o) => runner.run(request, o, modelSource),
      get modelName() {
        return runner.modelName;
      },
    },
    store: options.store === null ? undefined : (options.store ?? indexedDbRequestStore()),
    webhook: options.webhook,
    credentials: () => (typeof credentials === 'function' ? credentials() : credentials),
  });
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    console.warn(`sote: ${message}`);
  };
  const ctx: RequestContext = {
    queue,
    headersIgnored: () => warnOnce('headers', 'the headers option is accepted and ignored: requests run in this page, no HTTP request is sent'),
  };

  const api: SoteQueue = {
    submit: (endpointId, o) => onEndpoint(endpointId, () => submitRequest(ctx, endpointId, o)),
    status: (endpointId, o) => onEndpoint(endpointId, () => requestStatus(ctx, o)),
    streamStatus: (endpointId, o) => onEndpoint(endpointId, () => streamStatus(ctx, o)),
    subscribeToStatus: (endpointId, o) => onEndpoint(endpointId, () => subscribeToStatus(ctx, o)),
    result: (endpointId, o) => onEndpoint(endpointId, () => untilAborted(queue.result(o.requestId), o.abortSignal)),
    cancel: (endpointId, o) => onEndpoint(endpointId, () => queue.cancel(o.requestId)),
  };
  const stream: SoteClient['stream'] = (endpointId, o) => onEndpoint(endpointId, () => streamRequest(ctx, endpointId, o));

  return {
    config(config) {
      credentials = config.credentials;
      const ignored = (['proxyUrl', 'requestMiddleware', 'responseHandler', 'fetch', 'retry'] as const).filter((k) => config[k] !== undefined);
      if (ignored.length) warnOnce('config', `config(${ignored.join(', ')}) accepted and ignored: requests run in this page, no HTTP request is sent`);
      options.onConfig?.({ credentials: typeof credentials === 'function' ? credentials() : credentials });
    },
    run: (endpointId, o) => onEndpoint(endpointId, () => subscribeRequest(ctx, endpointId, o)),
    subscribe: (endpointId, o) => onEndpoint(endpointId, () => subscribeRequest(ctx, endpointId, o)),
    stream,
    queue: api,
    storage: {
      // This endpoint takes no file inputs; a blob: URL is what a page-local input URL can be. It lives as long
      // as the page (not persisted).
      upload: async (file) => URL.createObjectURL(file),
    },
    streaming: { stream },
    realtime: {
      connect(app) {
        throw new RealtimeUnavailableError(app);
      },
    },
    ready: queue.ready,
    listRequests: () => queue.list(),
  };
}

/**
 * The hosted client's factory: a new client configured with `config`. `options` (not in the hosted signature)
 * are createSoteClient's; without them the client has the standalone defaults (each endpoint's model from the
 * model store, requests in IndexedDB: use one such client per page, see the file comment).
 */
export function createFalClient(config?: SoteConfig, options?: SoteClientOptions): SoteClient {
  const client = createSoteClient(options);
  if (config) client.config(config);
  return client;
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
  run: (id, o) => defaultSoteClient().run(id, o),
  subscribe: (id, o) => defaultSoteClient().subscribe(id, o),
  stream: (id, o) => defaultSoteClient().stream(id, o),
  queue: {
    submit: (id, o) => defaultSoteClient().queue.submit(id, o),
    status: (id, o) => defaultSoteClient().queue.status(id, o),
    streamStatus: (id, o) => defaultSoteClient().queue.streamStatus(id, o),
    subscribeToStatus: (id, o) => defaultSoteClient().queue.subscribeToStatus(id, o),
    result: (id, o) => defaultSoteClient().queue.result(id, o),
    cancel: (id, o) => defaultSoteClient().queue.cancel(id, o),
  },
  storage: { upload: (f, o) => defaultSoteClient().storage.upload(f, o) },
  streaming: { stream: (id, o) => defaultSoteClient().streaming.stream(id, o) },
  realtime: { connect: (app) => defaultSoteClient().realtime.connect(app) },
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
