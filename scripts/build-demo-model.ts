/**
 * Builds the tiny demo model package into public/models/tiny-demo/ (served by Vite and precached for offline
 * use). Runs before `npm start`, `npm run build` and `npm test`; it takes about a second, so it always rebuilds
 * rather than guessing whether the code that generates it changed.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_MODEL_NAME, writeDemoModel } from '../src/models/demo-model.ts';

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
console.log(`built the demo model (${(manifest.totalBytes / 1024).toFixed(0)} KiB) in ${outDir} in ${(performance.now() - started).toFixed(0)} ms`);
