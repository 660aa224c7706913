#!/usr/bin/env node
/**
 * `npm test`: type checks, dependency rules, unit tests, browser (e2e) tests, in that order, always all of them.
 * Each vitest run writes its JSON report to a temp file (the default reporter still shows progress). The very
 * last line is `N passed, N failed, N skipped`. Each type-check config and the dependency check count as one
 * test. A suite that crashes (no report, or a non-zero exit that the report does not explain) counts as one
 * failure, never as zero. Exit code 1 if anything failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const bin = (pkg, rel) => join(dirname(require.resolve(`${pkg}/package.json`)), rel);
const tmp = mkdtempSync(join(tmpdir(), 'sote-tests-'));
const totals = { passed: 0, failed: 0, skipped: 0 };

function run(label, args) {
  console.log(`\n===== ${label}: node ${args.map((a) => a.replace(root + '/', '')).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.error) console.log(`${label}: could not start (${r.error.message})`);
  return r.status ?? 1; // killed by a signal or not started: a failure
}

/** One counted test: a command that passes with exit code 0. */
function check(label, args) {
  const code = run(label, args);
  totals[code === 0 ? 'passed' : 'failed'] += 1;
  console.log(`${label}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`}`);
}

/** Browser code without Node types, the CLI without DOM types, then everything with tests (three tests). */
function typecheck() {
  for (const config of ['tsconfig.browser.json', 'tsconfig.node.json', 'tsconfig.json']) {
    check(`typecheck ${config}`, [bin('typescript', 'bin/tsc'), '-p', config, '--noEmit']);
  }
}

/** The layer rules of architecture.md (.dependency-cruiser.cjs): one test. */
function dependencyCheck() {
  // Not bin(): dependency-cruiser's package.json is not in its "exports".
  check('dependency check', [
    join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
    '--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'src', 'workers', 'e2e', 'scripts', 'vite.config.ts',
  ]);
}

function vitest(project) {
  const out = join(tmp, `${project}.json`);
  const code = run(`vitest ${project}`, [
    bin('vitest', 'vitest.mjs'), 'run', '--project', project,
    '--reporter=default', '--reporter=json', `--outputFile.json=${out}`,
  ]);
  let report;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch (e) {
    console.log(`vitest ${project}: CRASHED (exit ${code}, no JSON report: ${e.message}); counted as 1 failure`);
    totals.failed += 1;
    return;
  }
  // Counted from the per-test statuses: vitest's numPendingTests also counts tests still queued or running,
  // which are not skipped. A skipped test (it.skip, skipIf, needsGolden without the golden folder) or a todo is
  // skipped; a test that never finished is a failure.
  const statuses = (report.testResults ?? []).flatMap((file) => (file.assertionResults ?? []).map((a) => a.status));
  const count = (...wanted) => statuses.filter((s) => wanted.includes(s)).length;
  const passed = count('passed');
  const skipped = count('skipped', 'todo');
  const unfinished = statuses.length - passed - skipped - count('failed');
  if (unfinished > 0) console.log(`vitest ${project}: ${unfinished} test(s) never finished; counted as failures`);
  let failed = count('failed') + unfinished;
  // A file that failed without a failing test (import error, crash in a hook) is one failure.
  for (const file of report.testResults ?? []) {
    const failedInFile = (file.assertionResults ?? []).filter((a) => a.status === 'failed').length;
    if (file.status === 'failed' && failedInFile === 0) {
      console.log(`vitest ${project}: ${file.name} failed outside any test${file.message ? `: ${file.message.split('\n')[0]}` : ''}`);
      failed += 1;
    }
  }
  if (code !== 0 && failed === 0) {
    console.log(`vitest ${project}: exit ${code} with no failed test in the report (crash or unhandled error); counted as 1 failure`);
    failed = 1;
  }
  console.log(`vitest ${project}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
}

typecheck();
dependencyCheck();
vitest('unit');
vitest('e2e');
rmSync(tmp, { recursive: true, force: true });
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exitCode = totals.failed > 0 ? 1 : 0;
