/**
 * Access to ../shared/golden (override with SOTE_GOLDEN_DIR). Tests read the reference numbers at run time and
 * never copy them into the repository; when the folder is absent a test prints one SKIPPED line and is skipped.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSource } from '../weights/node-file-source.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const GOLDEN_DIR = resolve(process.env.SOTE_GOLDEN_DIR ?? join(repoRoot, '../shared/golden'));

export function goldenPath(...parts: string[]): string {
  return join(GOLDEN_DIR, ...parts);
}

/** True when the golden file exists; otherwise logs a clear SKIPPED line naming what is missing. */
export function haveGolden(...parts: string[]): boolean {
  const p = goldenPath(...parts);
  if (existsSync(p)) return true;
  console.log(`SKIPPED: golden file ${p} not found (set SOTE_GOLDEN_DIR to the golden folder)`);
  return false;
}

export async function openGolden(...parts: string[]): Promise<SafetensorsFile> {
  return SafetensorsFile.open(fileSource(goldenPath(...parts)));
}

export async function readGoldenJson<T>(...parts: string[]): Promise<T> {
  return JSON.parse(await readFile(goldenPath(...parts), 'utf8')) as T;
}

/** max|a−b| / max|ref|: the comparison the golden README's tolerances use. */
export function relMaxDiff(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (actual.length !== ref.length) throw new Error(`length mismatch: ${actual.length} vs ${ref.length}`);
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - ref[i]));
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return mag === 0 ? diff : diff / mag;
}

export function maxAbsDiff(actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (actual.length !== ref.length) throw new Error(`length mismatch: ${actual.length} vs ${ref.length}`);
  let diff = 0;
  for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(actual[i] - ref[i]));
  return Number.isNaN(diff) ? Infinity : diff;
}
