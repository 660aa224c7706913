/**
 * The option and client types of the public surface, named and shaped as @fal-ai/client 1.10's (FalClient,
 * RunOptions, SubmitOptions, QueueSubscribeOptions, QueueStatusOptions, StreamOptions, Config) for the endpoint
 * this client serves. Options that only make sense with a server are accepted so hosted-client code compiles and
 * runs unchanged; each says what it does here. src/client/fal-compat.typetest.ts proves the assignability.
 */
import type { SoteStream } from './fal-stream.ts';
import type { SoteInputParams } from './input-schema.ts';
import type { WorkerEvent } from './protocol.ts';
import type { CompletedStatus, QueueStatus, SoteOutput, SoteResult, SubmitResult } from './queue-types.ts';

/** The hosted client's StorageSettings (object lifecycle of outputs). */
export interface StorageSettings {
  expiresIn?: 'never' | 'immediate' | '1h' | '1d' | '7d' | '30d' | '1y' | number;
  initialAcl?: { default?: 'hide' | 'forbid' | 'allow'; rules?: { user: string; decision: 'hide' | 'forbid' | 'allow' }[] };
}

export interface SoteConfig {
  /**
   * A Hugging Face access token (or a function returning one, read at each request), used ONLY for model
   * downloads from huggingface.co.
   */
  credentials?: string | (() => string | undefined);
  /** Accepted and ignored (nothing is sent to a server): proxyUrl, requestMiddleware, responseHandler, fetch, retry. */
  proxyUrl?: string | { url: string; when?: unknown };
  requestMiddleware?: unknown;
  responseHandler?: unknown;
  fetch?: typeof fetch;
  retry?: object;
  suppressLocalCredentialsWarning?: boolean;
}

/** `run` options (the hosted RunOptions). */
export interface RunOptions {
  /** The endpoint input; validated here (422 ValidationError), as the hosted API validates it. */
  readonly input?: SoteInputParams;
  /** Accepted; there is no HTTP request. */
  readonly method?: string;
  /** Aborting cancels the request and rejects with the signal's reason. */
  readonly abortSignal?: AbortSignal;
  /**
   * Accepted. Outputs live as this page keeps them: blob: URLs for the page's lifetime, results in IndexedDB until
   * the history is cleared.
   */
  readonly storageSettings?: StorageSettings;
  /** Seconds: a request still queued after this long is cancelled and rejects with StartTimeoutError (504). */
  readonly startTimeout?: number;
}

/** `queue.submit` options (the hosted SubmitOptions). */
export interface RequestOptions extends RunOptions {
  /** POSTed { request_id, status, payload } when the request ends (docs/api-contract.md §1). */
  webhookUrl?: string;
  /** 'low': requests submitted later with 'normal' (the default) start first. */
  priority?: 'low' | 'normal';
  /** Accepted; there is one runner (this page's worker). */
  hint?: string;
  /** Accepted and ignored (no HTTP request is made); a WARN is logged once per client. */
  headers?: Record<string, string>;
}

/** `subscribe` options (the hosted RunOptions & QueueSubscribeOptions). */
export interface SubscribeOptions extends RequestOptions {
  /** Whether the statuses given to onQueueUpdate carry the request's log lines. */
  logs?: boolean;
  onQueueUpdate?: (status: QueueStatus) => void;
  /** Called with the request id once it is queued. */
  onEnqueue?: (requestId: string) => void;
  /** Milliseconds: when it expires the request is cancelled and the call rejects (as the hosted client does). */
  timeout?: number;
  /** Accepted: status updates are pushed by the queue as they happen, whichever mode is asked for. */
  mode?: 'polling' | 'streaming';
  /** Accepted (see mode). */
  pollInterval?: number;
  /** Accepted (see mode). */
  connectionMode?: 'client' | 'server';
}

export interface StatusOptions {
  requestId: string;
  logs?: boolean;
  /** Aborting rejects this call with the signal's reason (the request goes on). */
  abortSignal?: AbortSignal;
}

/** `queue.subscribeToStatus` options (the hosted QueueStatusSubscriptionOptions). */
export interface SubscribeToStatusOptions extends StatusOptions {
  onQueueUpdate?: (status: QueueStatus) => void;
  /** Milliseconds: when it expires the request is cancelled and the call rejects. */
  timeout?: number;
  mode?: 'polling' | 'streaming';
  pollInterval?: number;
  connectionMode?: 'client' | 'server';
  startTimeout?: number;
  priority?: 'low' | 'normal';
  headers?: Record<string, string>;
}

/** `queue.streamStatus` options (the hosted QueueStatusStreamOptions). */
export interface StreamStatusOptions extends StatusOptions {
  connectionMode?: 'client' | 'server';
}

/** `queue.result` / `queue.cancel` options. */
export interface RequestIdOptions {
  requestId: string;
  /** result: aborting rejects the call (the request goes on). cancel: ignored (cancelling is immediate). */
  abortSignal?: AbortSignal;
}

/** `stream` options (the hosted StreamOptions). */
export interface StreamOptions {
  readonly input?: SoteInputParams;
  /** Aborting cancels the request (as stream.abort()). */
  readonly signal?: AbortSignal;
  /** Accepted; there is no URL, query, HTTP method, accepted content type, connection mode or token provider here. */
  readonly url?: string;
  readonly queryParams?: Record<string, string>;
  readonly method?: string;
  readonly accept?: string;
  readonly connectionMode?: 'client' | 'server';
  readonly tokenProvider?: unknown;
  /** Accepted; file inputs are not part of this endpoint. */
  readonly autoUpload?: boolean;
  /**
   * Accepted, not enforced: the hosted client fails a stream silent for this long, but here a first-use model
   * download or a slow CPU step can be silent for minutes while the request is alive.
   */
  readonly timeout?: number;
}

/** A Stage C/B step of the running generation. */
export type StreamStepEvent = Extract<WorkerEvent, { type: 'step' }>;
/**
 * A live Stage C preview: the step's x0 prediction as false-colour RGB at latent size (`width` × `height` per
 * image, the batch's images side by side in `rgb`, 3 bytes per pixel).
 */
export type StreamPreviewEvent = Extract<WorkerEvent, { type: 'preview' }>;
/** What `fal.stream` delivers: every queue status change (with logs), each step and each Stage C preview. */
export type SoteStreamEvent = QueueStatus | StreamStepEvent | StreamPreviewEvent;

export interface SoteQueue {
  submit(endpointId: string, options: RequestOptions): Promise<SubmitResult>;
  status(endpointId: string, options: StatusOptions): Promise<QueueStatus>;
  /** Every status change of the request as a stream; done() resolves with the COMPLETED status. */
  streamStatus(endpointId: string, options: StreamStatusOptions): Promise<SoteStream<QueueStatus, CompletedStatus>>;
  subscribeToStatus(endpointId: string, options: SubscribeToStatusOptions): Promise<CompletedStatus>;
  result(endpointId: string, options: RequestIdOptions): Promise<SoteResult>;
  cancel(endpointId: string, options: RequestIdOptions): Promise<void>;
}

export interface SoteStorage {
  /** A blob: URL for the file, valid while the page lives (this endpoint takes no file inputs). */
  upload(file: Blob, options?: { lifecycle?: StorageSettings }): Promise<string>;
}

/** The hosted realtime connection handler's shape (never called here). */
export interface SoteRealtimeHandler {
  /** Declared as methods (bivariant parameters), so the hosted handler of any result type is accepted. */
  onResult?(result: never): void;
  onError?(error: never): void;
}

export interface SoteRealtime {
  /** Always throws RealtimeUnavailableError: this endpoint is not a realtime app. */
  connect(app: string, handler?: SoteRealtimeHandler): never;
}

export interface SoteStreaming {
  stream(endpointId: string, options: StreamOptions): Promise<SoteStream<SoteStreamEvent, SoteOutput>>;
}

export interface SoteClient {
  config(config: SoteConfig): void;
  /** Submits, waits and resolves with the result (no status callbacks): the hosted `run`. */
  run(endpointId: string, options: RunOptions): Promise<SoteResult>;
  subscribe(endpointId: string, options: SubscribeOptions): Promise<SoteResult>;
  /** Submits and streams the request's statuses, steps and Stage C previews; done() resolves with the output. */
  stream(endpointId: string, options: StreamOptions): Promise<SoteStream<SoteStreamEvent, SoteOutput>>;
  readonly queue: SoteQueue;
  readonly storage: SoteStorage;
  readonly streaming: SoteStreaming;
  readonly realtime: SoteRealtime;
  /** Resolves once persisted requests are restored (and interrupted ones queued again). */
  readonly ready: Promise<void>;
  /** Request ids in submission order (this client's history). */
  listRequests(): Promise<string[]>;
}
