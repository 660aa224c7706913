/**
 * Slice planning: a file of `size` bytes is fetched as consecutive HTTP Range slices of `sliceBytes` (the last
 * one shorter). Slice i always covers [i·sliceBytes, min(size, (i+1)·sliceBytes)), so a plan is a pure function
 * of (size, sliceBytes) and a resumed download finds the same slices under the same indices.
 */
export const DEFAULT_SLICE_BYTES = 32 * 2 ** 20;
/** IndexedDB stores Blobs of 64–128 MiB reliably (docs/platform-notes Q5); slices stay at or below 64 MiB. */
export const MAX_SLICE_BYTES = 64 * 2 ** 20;

export interface Slice {
  index: number;
  /** First byte (inclusive). */
  start: number;
  /** One past the last byte. */
  end: number;
}

export function sliceCount(size: number, sliceBytes: number): number {
  return Math.ceil(size / sliceBytes);
}

export function planSlices(size: number, sliceBytes: number = DEFAULT_SLICE_BYTES): Slice[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`file size ${size} is not a non-negative integer`);
  if (!Number.isSafeInteger(sliceBytes) || sliceBytes <= 0 || sliceBytes > MAX_SLICE_BYTES) {
    throw new RangeError(`slice size ${sliceBytes} must be an integer in 1…${MAX_SLICE_BYTES}`);
  }
  const out: Slice[] = [];
  for (let i = 0, start = 0; start < size; i++, start += sliceBytes) out.push({ index: i, start, end: Math.min(size, start + sliceBytes) });
  return out;
}

/** `Range` header value of a slice (a single closed range: CORS-safelisted, no preflight). */
export function rangeHeader(s: Slice): string {
  return `bytes=${s.start}-${s.end - 1}`;
}

/** The slices still to fetch, given the indices already stored (in ascending order). */
export function missingSlices(plan: readonly Slice[], have: ReadonlySet<number>): Slice[] {
  return plan.filter((s) => !have.has(s.index));
}

/** Parses `Content-Range: bytes a-b/total` (total may be `*`). */
export function parseContentRange(header: string | null): { start: number; end: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((header ?? '').trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) + 1, total: m[3] === '*' ? undefined : Number(m[3]) };
}
