import { describe, expect, it } from 'vitest';
import { StorageQuotaError } from './errors.ts';
import { isQuotaError, isQuotaFailure, isRollingQuotaWindow, quotaError, quotaGuarded, QuotaHit, quotaSink } from './quota.ts';

const quotaExceeded = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

describe('store quota errors', () => {
  it('recognises QuotaExceededError and Chromium\'s quota-worded variants, nothing else', () => {
    expect(isQuotaError(quotaExceeded())).toBe(true);
    expect(isQuotaError(new DOMException('Internal error: quota exceeded while writing', 'UnknownError'))).toBe(true);
    expect(isQuotaError(new Error('network down'))).toBe(false);
    expect(isQuotaError('quota')).toBe(false);
  });

  it('quotaGuarded marks a quota failure as QuotaHit (cause kept) and passes everything else through', async () => {
    const hit = await quotaGuarded(() => Promise.reject(quotaExceeded())).catch((e: unknown) => e);
    expect(hit).toBeInstanceOf(QuotaHit);
    expect((hit as QuotaHit).cause).toBeInstanceOf(DOMException);
    const other = new TypeError('bad');
    await expect(quotaGuarded(() => Promise.reject(other))).rejects.toBe(other);
    await expect(quotaGuarded(async () => 7)).resolves.toBe(7);
  });

  it('quotaSink marks the inner sink\'s quota failures', async () => {
    const written: string[] = [];
    const sink = quotaSink({
      write: async (path) => {
        if (path === 'full') throw quotaExceeded();
        written.push(path);
      },
    });
    await sink.write('a', new Uint8Array(1));
    await expect(sink.write('full', new Uint8Array(1))).rejects.toBeInstanceOf(QuotaHit);
    expect(written).toEqual(['a']);
  });

  it('tells a write that failed from the refusal before writing', () => {
    const refusal = quotaError(10, { usage: 5, quota: 8 }, 'before');
    expect(refusal).toBeInstanceOf(StorageQuotaError);
    expect(refusal.available).toBe(3);
    expect(isQuotaFailure(refusal)).toBe(false); // its remedy mentions the quota, it is still no write failure
    expect(isQuotaFailure(new QuotaHit(quotaExceeded()))).toBe(true);
    expect(isQuotaFailure(quotaExceeded())).toBe(true);
    expect(quotaError(10, { usage: 9, quota: 8 }, 'during').available).toBe(0);
  });

  it("recognises Chromium's rolling quota window (usage + 10 GiB), nothing else", () => {
    const GiB = 2 ** 30;
    expect(isRollingQuotaWindow({ usage: 0, quota: 10 * GiB })).toBe(true);
    expect(isRollingQuotaWindow({ usage: 536_870_912, quota: 11_274_292_202 })).toBe(true); // measured (platform notes)
    expect(isRollingQuotaWindow({ usage: 0, quota: 8 * GiB })).toBe(false);
    expect(isRollingQuotaWindow({ usage: 5, quota: 8 })).toBe(false);
  });
});
