import { describe, expect, it } from 'vitest';
import { missingSlices, parseContentRange, planSlices, rangeHeader, sliceCount } from './slices.ts';

describe('slice planning', () => {
  it('covers the file exactly with consecutive slices, the last one shorter', () => {
    const plan = planSlices(100, 32);
    expect(plan).toEqual([
      { index: 0, start: 0, end: 32 }, { index: 1, start: 32, end: 64 }, { index: 2, start: 64, end: 96 }, { index: 3, start: 96, end: 100 },
    ]);
    expect(sliceCount(100, 32)).toBe(4);
    expect(rangeHeader(plan[3])).toBe('bytes=96-99');
    expect(planSlices(0, 32)).toEqual([]);
    expect(planSlices(64, 32).map((s) => s.end)).toEqual([32, 64]);
  });

  it('a 7.18 GB file in 32 MiB slices: 214 slices, all within 64 MiB', () => {
    const plan = planSlices(7_178_349_464, 32 * 2 ** 20);
    expect(plan.length).toBe(214);
    expect(plan.at(-1)!.end).toBe(7_178_349_464);
    expect(plan.every((s, i) => i === 0 || s.start === plan[i - 1].end)).toBe(true);
  });

  it('rejects slices over 64 MiB and bad sizes', () => {
    expect(() => planSlices(10, 65 * 2 ** 20)).toThrow(/slice size/);
    expect(() => planSlices(-1, 10)).toThrow(/file size/);
  });

  it('missing slices are the plan minus what is stored', () => {
    const plan = planSlices(100, 10);
    expect(missingSlices(plan, new Set([0, 1, 2, 5, 9])).map((s) => s.index)).toEqual([3, 4, 6, 7, 8]);
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 0-0/1234')).toEqual({ start: 0, end: 1, total: 1234 });
    expect(parseContentRange('bytes 10-19/*')).toEqual({ start: 10, end: 20, total: undefined });
    expect(parseContentRange(null)).toBeUndefined();
    expect(parseContentRange('bytes */100')).toBeUndefined();
  });
});
