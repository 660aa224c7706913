/**
 * Byte counts for people (messages, the page, CLI tables): binary units, as the browser's storage estimate and
 * the package sizes are counted. Imports nothing, so every layer can use it.
 */
export type ByteUnit = 'B' | 'KiB' | 'MiB' | 'GiB';

const UNIT_BYTES: Readonly<Record<ByteUnit, number>> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 };
/** Decimals per unit when the caller gives none: 2 for GiB (a 3.6 GB package in steps of 10 MiB), else 1. */
const DEFAULT_DIGITS: Readonly<Record<ByteUnit, number>> = { B: 0, KiB: 1, MiB: 1, GiB: 2 };

export interface ByteFormat {
  /** A fixed unit (columns of a table); by default the largest unit the value reaches. */
  unit?: ByteUnit;
  digits?: number;
}

/** `1.50 GiB`, `12.0 MiB`, `3.0 KiB`, `12 B`; `?` for an unknown size. */
export function formatBytes(n: number | undefined, format: ByteFormat = {}): string {
  if (n === undefined || Number.isNaN(n)) return '?';
  const unit = format.unit ?? (n >= UNIT_BYTES.GiB ? 'GiB' : n >= UNIT_BYTES.MiB ? 'MiB' : n >= UNIT_BYTES.KiB ? 'KiB' : 'B');
  return `${(n / UNIT_BYTES[unit]).toFixed(format.digits ?? DEFAULT_DIGITS[unit])} ${unit}`;
}
