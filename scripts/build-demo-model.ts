/**
 * Builds the tiny demo model package into public/models/tiny-demo/ (served by Vite and precached for offline
 * use). Runs before `npm start`, `npm run build` and `npm test`; it takes about a second, so it always rebuilds
 * rather than guessing whether the code that generates it changed.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_MODEL_NAME, DEMO_SAFETY_MODEL_ID, writeDemoModel } from '../src/models/demo-model.ts';
import { tinyNsfwClassifierFiles } from '../src/models/tiny-classifier.ts';

const DEMO_SAFETY_THRESHOLD = 0.7;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'public', 'models', DEMO_MODEL_NAME);

await rm(outDir, { recursive: true, force: true });
const started = performance.now();
const manifest = await writeDemoModel({
  write: async (path, bytes) => {
    await mkdir(dirname(join(outDir, path)), { recursive: true });
    await writeFile(join(outDir, path), bytes);
  },
});
// The demo's safety checker: the tiny classifier that flags near-white images (mean level above ~217;
// src/models/tiny-classifier.ts), served as /models/tiny-demo-safety/ so the whole enable_safety_checker path
// runs without a download while the demo's noise images (mean ≈ 125) pass.
const safetyDir = join(root, 'public', 'models', DEMO_SAFETY_MODEL_ID);
await rm(safetyDir, { recursive: true, force: true });
for (const [rel, bytes] of await tinyNsfwClassifierFiles(DEMO_SAFETY_THRESHOLD)) {
  await mkdir(dirname(join(safetyDir, rel)), { recursive: true });
  await writeFile(join(safetyDir, rel), bytes);
}
console.log(`built the demo model (${(manifest.totalBytes / 1024).toFixed(0)} KiB) in ${outDir} in ${(performance.now() - started).toFixed(0)} ms`);
