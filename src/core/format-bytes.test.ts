import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes.ts';

describe('formatBytes', () => {
  it('picks the largest unit the value reaches', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12 * 2 ** 20)).toBe('12.0 MiB');
    expect(formatBytes(2 ** 30 - 1)).toBe('1024.0 MiB');
    expect(formatBytes(3.5 * 2 ** 30)).toBe('3.50 GiB');
  });

  it('keeps a fixed unit and digits when asked (table columns)', () => {
    expect(formatBytes(2 ** 29, { unit: 'GiB' })).toBe('0.50 GiB');
    expect(formatBytes(300 * 2 ** 20, { unit: 'MiB', digits: 0 })).toBe('300 MiB');
  });

  it('shows an unknown size as ?', () => {
    expect(formatBytes(undefined)).toBe('?');
    expect(formatBytes(Number.NaN)).toBe('?');
  });
});
