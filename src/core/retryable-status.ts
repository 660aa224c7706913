/**
 * The one rule for which HTTP statuses are worth retrying (downloads, the package manifest, webhooks): the
 * transient ones.
 * - 408 Request Timeout, 429 Too Many Requests: the server asks to come back later;
 * - 425 Too Early (RFC 8470): the request was sent in TLS early data and refused only for that; the same
 *   request after the handshake succeeds, so it is transient by definition;
 * - 5xx: server or gateway failures, which hubs and CDNs return during restarts and overload.
 * Every other 4xx (401, 403, 404, 416, …) fails the same way on every attempt.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
