/**
 * Writes the tiny "flags bright images" classifier (src/safety/tiny-classifier.ts) as a Hugging Face model
 * folder: <out>/config.json, <out>/preprocessor_config.json, <out>/onnx/model.onnx.
 *
 *   npx tsx scripts/build-tiny-nsfw-classifier.ts <out-dir>
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { tinyNsfwClassifierFiles } from '../src/safety/tiny-classifier.ts';

/** Writes the files under `dir` and returns their paths. */
export async function writeTinyNsfwClassifier(dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const [rel, bytes] of await tinyNsfwClassifierFiles()) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    written.push(path);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: tsx scripts/build-tiny-nsfw-classifier.ts <out-dir>');
    process.exit(2);
  }
  for (const p of await writeTinyNsfwClassifier(resolve(out))) console.log(p);
}
