/**
 * Access to ../shared/golden (override with SOTE_GOLDEN_DIR). Tests read the reference numbers at run time and
 * never copy them into the repository. A test that needs a golden file declares it with `needsGolden(…)`: when the
 * file is absent the test prints one SKIPPED line and is skipped, so it never counts as passed.
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

/** The vitest tag of every test that reads the golden folder (declared in vite.config.ts). */
export const GOLDEN_TAG = 'golden';

const reportedMissing = new Set<string>();

/**
 * True when any of the golden files is missing (paths relative to the golden folder: 'clip/vocab.json').
 * Logs one SKIPPED line per missing file, once per test file.
 */
export function goldenMissing(...files: string[]): boolean {
  const missing = files.map((f) => goldenPath(f)).filter((p) => !existsSync(p));
  for (const p of missing) {
    if (reportedMissing.has(p)) continue;
    reportedMissing.add(p);
    console.log(`SKIPPED: golden file ${p} not found (set SOTE_GOLDEN_DIR to the golden folder)`);
  }
  return missing.length > 0;
}

/**
 * Options of a test or suite that reads the given golden files: tagged `golden`, and skipped (never passed)
 * when one is missing. `it('matches PyTorch', needsGolden('stage_c_forward.safetensors'), async () => …)`;
 * the same for `describe`. List every file the test opens.
 */
export function needsGolden(...files: string[]): { tags: string[]; skip: boolean } {
  return { tags: [GOLDEN_TAG], skip: goldenMissing(...files) };
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
