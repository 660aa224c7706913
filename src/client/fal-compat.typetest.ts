/**
 * Compile-time proof that this client is a drop-in for @fal-ai/client 1.10 on `fal-ai/stable-cascade/sote-diffusion`
 * (type-checked by `npm run typecheck` through tsconfig.json; never run). Each assignment puts one of our methods
 * where code typed against the hosted client expects the hosted one, with the hosted method instantiated at this
 * endpoint (`typeof hosted.run<Endpoint>`): the hosted input type must be accepted by ours, our result must be
 * the hosted result type. Where a method cannot be assigned, the one difference is stated and the rest checked.
 *
 * The hosted client's documented calls, with only the import changed, are fal-compat-docs.sote.typetest.ts
 * (fal-compat-docs.hosted.typetest.ts is the same code on the hosted import; fal-compat.test.ts checks they
 * differ in the import line only).
 */
import type {
  ApiError as HostedApiError,
  CompletedQueueStatus,
  FalClient,
  FalStream,
  InQueueQueueStatus,
  QueueClient,
  QueueStatus as HostedQueueStatus,
  StorageClient,
  ValidationError as HostedValidationError,
} from '@fal-ai/client';
import type { fal as hostedFal } from '@fal-ai/client';
import { ApiError, createFalClient, fal, SOTE_DIFFUSION_ENDPOINT, ValidationError, type SoteClient, type SoteOutput, type SoteStream } from './index.ts';

type Endpoint = typeof SOTE_DIFFUSION_ENDPOINT;
declare const hosted: FalClient;
const ours: SoteClient = createFalClient({ credentials: 'hf_token' });

// ---- methods assignable as they are -------------------------------------------------------------------------

export const run: typeof hosted.run<Endpoint> = ours.run;
export const subscribe: typeof hosted.subscribe<Endpoint> = ours.subscribe;
export const submit: typeof hosted.queue.submit<Endpoint> = ours.queue.submit;
export const status: QueueClient['status'] = ours.queue.status;
export const subscribeToStatus: QueueClient['subscribeToStatus'] = ours.queue.subscribeToStatus;
export const result: typeof hosted.queue.result<Endpoint> = ours.queue.result;
export const cancel: QueueClient['cancel'] = ours.queue.cancel;
export const upload: StorageClient['upload'] = ours.storage.upload;
export const realtime: FalClient['realtime'] = ours.realtime;
export const config: (typeof hostedFal)['config'] = fal.config;
/** createFalClient takes the hosted Config (credentials string or resolver; server options accepted, ignored). */
export const factory: (config?: Parameters<typeof hostedFal.config>[0]) => SoteClient = createFalClient;
export const statuses: (s: HostedQueueStatus) => void = (s) => ours.queue.subscribeToStatus(SOTE_DIFFUSION_ENDPOINT, { requestId: s.request_id, onQueueUpdate: (u: HostedQueueStatus) => u });
export const queued: InQueueQueueStatus | undefined = undefined as Awaited<ReturnType<SoteClient['queue']['submit']>> | undefined;
export const completed: CompletedQueueStatus | undefined = undefined as Awaited<ReturnType<SoteClient['queue']['subscribeToStatus']>> | undefined;

// Errors: instances carry the hosted fields (status, body, requestId, timeoutType, isUserTimeout; fieldErrors).
export const apiError: HostedApiError<unknown> = new ApiError({ message: 'm', status: 500, body: undefined, requestId: 'r' });
export const validationError: HostedValidationError = new ValidationError([{ loc: ['body', 'prompt'], msg: 'Field required', type: 'missing' }]);
// The one difference of ValidationError: its constructor takes the issues (ours is built from our own validation,
// never from an HTTP response); new ApiError takes the hosted constructor's argument object.

// ---- stream and queue.streamStatus: one difference each --------------------------------------------------------
//
// FalStream is a class with private fields, so no other class is assignable to it; its public surface is compared
// instead (config, endpointId, url and options, which describe the HTTP request, do not exist here).
type PublicStream<S> = Pick<S, Extract<keyof S, 'on' | 'done' | 'abort' | 'requestId' | 'signal'>>;

// streamStatus: the chunks are the request's statuses and done() resolves with the final status, as hosted.
type HostedStatusStream = Awaited<ReturnType<QueueClient['streamStatus']>>;
export const statusStream: (s: Awaited<ReturnType<SoteClient['queue']['streamStatus']>>) => PublicStream<HostedStatusStream> & AsyncIterable<HostedQueueStatus> = (s) => s;

// stream: done() resolves with the endpoint's output, as hosted. The one difference: the chunks are progress
// events (statuses with logs, steps, Stage C previews), not partial outputs, because this endpoint streams no
// partial output; FalStream<Input, Output> types its chunks as Output, so our stream is checked with the chunk
// type it has.
type HostedStream = Awaited<ReturnType<typeof hosted.stream<Endpoint>>>;
export const streamDone: (s: SoteStream<unknown, SoteOutput>) => Pick<HostedStream, 'done'> = (s) => s;
export const streamSurface: (s: Awaited<ReturnType<SoteClient['stream']>>) => PublicStream<FalStream<unknown, unknown>> = (s) => s;
