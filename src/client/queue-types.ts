/**
 * The public shapes of the queue API (docs/api-contract.md §1 and §3), as the hosted JS client types them.
 */

export type LogLevel = 'STDERR' | 'STDOUT' | 'ERROR' | 'INFO' | 'WARN' | 'DEBUG';

export interface RequestLog {
  message: string;
  level: LogLevel;
  source: 'USER';
  /** ISO 8601. */
  timestamp: string;
}

/**
 * The hosted statuses' request URLs, in the hosted layout ({base}/{endpoint}/requests/{id}, /status, /cancel) under
 * `sote:queue/` instead of `https://queue.fal.run/`: they name the request in this page's queue and are not
 * fetchable (there is no server); use queue.result / status / cancel with the request id.
 */
export interface RequestUrls {
  response_url: string;
  status_url: string;
  cancel_url: string;
}

export interface InQueueStatus extends RequestUrls {
  status: 'IN_QUEUE';
  /** Requests that will start before this one (0 = next to start). */
  queue_position: number;
  request_id: string;
}

export interface InProgressStatus extends RequestUrls {
  status: 'IN_PROGRESS';
  /** Every line so far when `logs: true` was asked for, otherwise []. */
  logs: RequestLog[];
  request_id: string;
}

export interface CompletedStatus extends RequestUrls {
  status: 'COMPLETED';
  logs: RequestLog[];
  /** inference_time: seconds of generation (timings.inference); null when the request failed or was cancelled. */
  metrics: { inference_time: number | null };
  request_id: string;
  /** Present only when the request failed or was cancelled: `result()` rejects with this error. */
  error?: string;
  /** The error's class name (e.g. GenerationCancelledError, DeviceLostError), with `error`. */
  error_type?: string;
}

export type QueueStatus = InQueueStatus | InProgressStatus | CompletedStatus;

export interface OutputImage {
  /** blob: URL, or data:image/png;base64,… with sync_mode (and in webhook payloads). */
  url: string;
  width: number;
  height: number;
  content_type: 'image/png';
}

export interface OutputTimings {
  text_encoder: number;
  prior: number;
  decoder: number;
  vqgan: number;
  /** 0 when the checker did not run (enable_safety_checker: false). */
  safety_checker: number;
  inference: number;
}

export interface SoteOutput {
  images: OutputImage[];
  /** Seconds. */
  timings: OutputTimings;
  /** The seed actually used. */
  seed: number;
  /** One entry per image. */
  has_nsfw_concepts: boolean[];
  prompt: string;
}

export interface SoteResult {
  data: SoteOutput;
  requestId: string;
}

/** What `queue.submit` resolves to: the hosted client's InQueue status (a superset of `{ request_id }`). */
export type SubmitResult = InQueueStatus;

/** The RequestUrls of a request. */
export function requestUrls(endpointId: string, requestId: string): RequestUrls {
  const response = `sote:queue/${endpointId}/requests/${requestId}`;
  return { response_url: response, status_url: `${response}/status`, cancel_url: `${response}/cancel` };
}

/** POSTed as JSON to a request's webhookUrl when it ends. */
export interface WebhookBody {
  request_id: string;
  /** Equals request_id: a local request is never retried under another id. */
  gateway_request_id: string;
  status: 'OK' | 'ERROR';
  /** The output (image URLs as data: URIs, since blob: URLs mean nothing outside this page), or error detail. */
  payload: SoteOutput | { detail: string; error_type: string };
  error?: string;
}
