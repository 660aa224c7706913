/**
 * Webhook delivery: POST the JSON body to the URL, retrying with exponential back-off. Never throws: the
 * outcome is reported through `log` (a failed webhook is logged on the request, never fatal to it).
 *
 * A 2xx response ends delivery; a permanent status also ends it (the receiver refused this body, resending it
 * will not help); network errors, timeouts and the retryable statuses (core/retryable-status.ts: 408, 425, 429,
 * 5xx) are retried. Receivers must be idempotent per
 * request_id (a timeout can hide a delivered POST), as with the hosted service.
 */
import { isRetryableStatus } from '../core/retryable-status.ts';
import type { LogLevel, WebhookBody } from './queue-types.ts';

export interface WebhookOptions {
  /** Attempts in all, first one included. @default 5 */
  attempts?: number;
  /** Wait before the first retry; doubled each retry. @default 1000 */
  initialDelayMs?: number;
  /** Per-attempt timeout. @default 15000 (the hosted service's) */
  timeoutMs?: number;
}

export async function deliverWebhook(
  url: string,
  body: WebhookBody,
  log: (level: LogLevel, message: string) => void,
  options: WebhookOptions = {},
): Promise<boolean> {
  const attempts = Math.max(1, options.attempts ?? 5);
  let delay = options.initialDelayMs ?? 1000;
  const json = JSON.stringify(body);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let problem: string;
    let retry = true;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: json,
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      if (response.ok) {
        log('INFO', `webhook delivered to ${url} (HTTP ${response.status}, attempt ${attempt})`);
        return true;
      }
      problem = `HTTP ${response.status}`;
      retry = isRetryableStatus(response.status);
    } catch (e) {
      problem = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    if (!retry || attempt === attempts) {
      log('ERROR', `webhook to ${url} failed after ${attempt} attempt(s): ${problem}; the request itself is unaffected`);
      return false;
    }
    log('WARN', `webhook to ${url} attempt ${attempt} failed (${problem}); retrying in ${(delay / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, delay));
    delay *= 2;
  }
  return false;
}
