/**
 * Errors of the queue API, shaped like the hosted client's (`ApiError` with the HTTP `status` and the response
 * `body`; `ValidationError` for 422), so code written against the hosted client can branch on `status` and read
 * `body.detail` unchanged. Generation failures (cancelled, device lost, model load) stay the named SoteErrors of
 * ./errors.ts: `result()` rejects with those.
 *
 * These are plain page-side classes: they never cross the worker boundary (validation and queue bookkeeping run
 * on the page), so they need no transfer handler.
 */

/** One problem with the input, as the hosted API reports it (pydantic style). */
export interface ValidationIssue {
  /** ["body", field, …nested keys]: loc[1] is always the top-level input field the problem is in. */
  loc: (string | number)[];
  msg: string;
  /** Machine-readable kind, pydantic v2 names (missing, greater_than_equal, int_type, literal_error …). */
  type: string;
}

/** What the hosted client's ApiError constructor takes. */
export interface ApiErrorArgs<Body> {
  message: string;
  status: number;
  body: Body;
  /** The request the error belongs to ('' when there is none yet, e.g. a 422 at submission). */
  requestId?: string;
  /** 'user' when the caller's own startTimeout expired (the hosted client's x-fal-timeout-type). */
  timeoutType?: string;
}

export class ApiError<Body = unknown> extends Error {
  override readonly name: string = 'ApiError';
  readonly status: number;
  readonly body: Body;
  readonly requestId: string;
  readonly timeoutType?: string;

  constructor({ message, status, body, requestId, timeoutType }: ApiErrorArgs<Body>) {
    super(message);
    this.status = status;
    this.body = body;
    this.requestId = requestId ?? '';
    if (timeoutType !== undefined) this.timeoutType = timeoutType;
  }

  /** True when the caller's startTimeout expired (such a request must not be retried as is). */
  get isUserTimeout(): boolean {
    return this.timeoutType === 'user';
  }
}

/** Bad input, rejected before any work: status 422, `body.detail` = one entry per problem. */
export class ValidationError extends ApiError<{ detail: ValidationIssue[] }> {
  override readonly name = 'ValidationError';

  constructor(detail: ValidationIssue[], requestId?: string) {
    const summary = detail.map((d) => `${d.loc.slice(1).join('.') || 'body'}: ${d.msg}`).join('; ');
    super({ message: `422 Unprocessable Entity: ${summary}`, status: 422, body: { detail }, requestId });
  }

  /** The issues (the hosted client's ValidationError exposes them under this name too). */
  get fieldErrors(): ValidationIssue[] {
    return this.body.detail;
  }

  /** The issues whose loc ends with `field` (as the hosted client's getFieldErrors). */
  getFieldErrors(field: string): ValidationIssue[] {
    return this.body.detail.filter((d) => d.loc[d.loc.length - 1] === field);
  }
}

/**
 * The request was still queued when its `startTimeout` (seconds) expired: it is cancelled and this is what the
 * caller gets, as the hosted queue answers a start timeout (504, timeoutType 'user').
 */
export class StartTimeoutError extends ApiError<{ detail: string }> {
  override readonly name = 'StartTimeoutError';

  constructor(requestId: string, seconds: number) {
    const detail = `request ${requestId} did not start within its startTimeout of ${seconds} s and was cancelled; raise startTimeout or wait for the requests ahead of it`;
    super({ message: detail, status: 504, body: { detail }, requestId, timeoutType: 'user' });
  }
}

/** `realtime.connect`: this endpoint has no realtime (WebSocket) app. */
export class RealtimeUnavailableError extends ApiError<{ detail: string }> {
  override readonly name = 'RealtimeUnavailableError';

  constructor(app: string) {
    const detail = `fal.realtime is not available for this endpoint ("${app}"): it runs in this page, not as a realtime app; use fal.subscribe or fal.stream (live progress and Stage C previews)`;
    super({ message: detail, status: 404, body: { detail } });
  }
}

/** An endpoint id this client does not serve. */
export class UnknownEndpointError extends ApiError<{ detail: string; known: string[] }> {
  override readonly name = 'UnknownEndpointError';

  constructor(endpointId: string, known: readonly string[]) {
    const detail = `unknown endpoint "${endpointId}": this client serves only ${known.map((k) => `"${k}"`).join(', ')}`;
    super({ message: detail, status: 404, body: { detail, known: [...known] } });
  }
}

/** A request id this client has never seen (or whose sync_mode request ended in an earlier page). */
export class RequestNotFoundError extends ApiError<{ detail: string }> {
  override readonly name = 'RequestNotFoundError';

  constructor(requestId: string) {
    const detail = `request "${requestId}" not found (sync_mode requests are not kept after a reload)`;
    super({ message: detail, status: 404, body: { detail }, requestId });
  }
}
