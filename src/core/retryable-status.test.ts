import { describe, expect, it } from 'vitest';
import { isRetryableStatus } from './retryable-status.ts';

describe('isRetryableStatus', () => {
  it('retries timeouts, rate limits, Too Early and server errors', () => {
    expect([408, 425, 429, 500, 502, 503, 504].filter((s) => !isRetryableStatus(s))).toEqual([]);
  });

  it('does not retry success, redirects or the other client errors', () => {
    expect([200, 206, 304, 400, 401, 403, 404, 409, 410, 416, 422].filter(isRetryableStatus)).toEqual([]);
  });
});
