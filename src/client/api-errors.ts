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

export class ApiError<Body = unknown> extends Error {
  override readonly name: string = 'ApiError';
  readonly status: number;
  readonly body: Body;

  constructor(message: string, status: number, body: Body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Bad input, rejected before any work: status 422, `body.detail` = one entry per problem. */
export class ValidationError extends ApiError<{ detail: ValidationIssue[] }> {
  override readonly name = 'ValidationError';

  constructor(detail: ValidationIssue[]) {
    const summary = detail.map((d) => `${d.loc.slice(1).join('.') || 'body'}: ${d.msg}`).join('; ');
    super(`422 Unprocessable Entity: ${summary}`, 422, { detail });
  }

  /** The issues (the hosted client's ValidationError exposes them under this name too). */
  get fieldErrors(): ValidationIssue[] {
    return this.body.detail;
  }
}

/** An endpoint id this client does not serve. */
export class UnknownEndpointError extends ApiError<{ detail: string; known: string[] }> {
  override readonly name = 'UnknownEndpointError';

  constructor(endpointId: string, known: readonly string[]) {
    const detail = `unknown endpoint "${endpointId}": this client serves only ${known.map((k) => `"${k}"`).join(', ')}`;
    super(detail, 404, { detail, known: [...known] });
  }
}

/** A request id this client has never seen (or whose sync_mode request ended in an earlier page). */
export class RequestNotFoundError extends ApiError<{ detail: string }> {
  override readonly name = 'RequestNotFoundError';

  constructor(requestId: string) {
    const detail = `request "${requestId}" not found (sync_mode requests are not kept after a reload)`;
    super(detail, 404, { detail });
  }
}
