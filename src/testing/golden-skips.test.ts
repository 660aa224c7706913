/**
 * Without the golden folder no golden test passes: every unit and e2e test file that declares golden tests runs
 * in a child vitest with SOTE_GOLDEN_DIR pointing at an empty folder, filtered to the `golden` tag (so only
 * the files' imports cost time: a skipped suite runs no hooks), and every tagged test must be skipped. (A test
 * that reads a golden file without declaring it fails on the missing file in the ordinary run, so it cannot
 * pass silently either.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GOLDEN_TAG } from './golden.ts';

const here = fileURLToPath(import.meta.url);
const root = resolve(dirname(here), '../..');

interface JsonAssertion {
  title: string;
  status: string;
  tags?: string[];
}
interface JsonReport {
  numFailedTests: number;
  testResults: { name: string; status: string; message?: string; assertionResults: JsonAssertion[] }[];
}

/** src/**\/*.test.ts and e2e/**\/*.test.ts files that declare golden tests (this file aside). */
function goldenTestFiles(): string[] {
  return ['src', 'e2e'].flatMap((dir) => readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(root, dir, f)))
    .filter((f) => f !== here && readFileSync(f, 'utf8').includes('needsGolden('));
}

describe('golden tests without the golden folder', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sote-golden-skips-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('are all skipped, none passed', () => {
    const files = goldenTestFiles();
    expect(files.filter((f) => f.startsWith(join(root, 'src'))).length).toBeGreaterThan(10);
    expect(files.filter((f) => f.startsWith(join(root, 'e2e'))).length).toBeGreaterThan(0);
    const emptyGolden = mkdtempSync(join(tmp, 'golden-'));
    const out = join(tmp, 'report.json');
    const vitest = join(dirname(createRequire(here).resolve('vitest/package.json')), 'vitest.mjs');
    // The child is a fresh vitest, not a worker of this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST'));
    const r = spawnSync(process.execPath, [
      vitest, 'run', '--project', 'unit', '--project', 'e2e', `--tags-filter=${GOLDEN_TAG}`,
      '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...files.map((f) => relative(root, f)),
    ], { cwd: root, env: { ...env, SOTE_GOLDEN_DIR: emptyGolden, NO_COLOR: '1' }, encoding: 'utf8', maxBuffer: 64 << 20 });
    const report = JSON.parse(readFileSync(out, 'utf8')) as JsonReport;
    expect(r.status, r.stderr).toBe(0);
    expect(report.numFailedTests).toBe(0);

    const golden = report.testResults.flatMap((f) =>
      f.assertionResults.filter((a) => a.tags?.includes(GOLDEN_TAG)).map((a) => ({ file: relative(root, f.name), ...a })));
    const ran = golden.filter((a) => a.status !== 'skipped').map((a) => `${a.file}: ${a.title} (${a.status})`);
    console.log(`golden skips: ${golden.length} golden tests in ${files.length} files, ${golden.length - ran.length} skipped`);
    expect(ran).toEqual([]);
    expect(golden.length).toBeGreaterThan(0);
    // Every file that declares golden tests took part and has tagged tests.
    const filesWithGolden = new Set(golden.map((a) => a.file));
    expect([...filesWithGolden].sort()).toEqual(files.map((f) => relative(root, f)).sort());
    // Each missing file is named in one SKIPPED line per test file, not once per test.
    const skipLines = new Map<string, string[]>();
    let file = '';
    for (const line of r.stdout.split('\n')) {
      const header = /^stdout \| (\S+)/.exec(line);
      if (header) file = header[1];
      else if (line.startsWith('SKIPPED: golden file')) skipLines.set(file, [...(skipLines.get(file) ?? []), line]);
    }
    expect([...skipLines.keys()].sort()).toEqual([...filesWithGolden].sort());
    for (const [f, lines] of skipLines) expect(lines, f).toEqual([...new Set(lines)]);
  });
});
