/**
 * Writes the tiny "flags bright images" classifier (src/models/tiny-classifier.ts) as a Hugging Face model
 * folder: <out>/config.json, <out>/preprocessor_config.json, <out>/onnx/model.onnx.
 *
 *   npx tsx scripts/build-tiny-nsfw-classifier.ts <out-dir>
 *
 * With --convert it converts a downloaded Hugging Face ViTForImageClassification folder instead (config.json,
 * preprocessor_config.json, model.safetensors; e.g. Falconsai/nsfw_image_detection) into the transformers.js
 * layout with external data (onnx/model.onnx + onnx/model.onnx_data[_N], config.json says how many):
 *
 *   npx tsx scripts/build-tiny-nsfw-classifier.ts --convert <hf-folder> <out-dir>
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { tinyNsfwClassifierFiles } from '../src/models/tiny-classifier.ts';
import { convertViTCheckpoint } from '../src/models/vit-classifier.ts';
import { fileSource } from '../src/weights/node-file-source.ts';
import { SafetensorsFile } from '../src/weights/safetensors.ts';

/** Writes the files under `dir` and returns their paths. */
export async function writeTinyNsfwClassifier(dir: string): Promise<string[]> {
  return writeFolder(dir, await tinyNsfwClassifierFiles());
}

/** Converts <hfDir>/{config.json, preprocessor_config.json, model.safetensors} into <outDir> (transformers.js layout). */
export async function convertHfViTFolder(hfDir: string, outDir: string): Promise<string[]> {
  const weights = await SafetensorsFile.open(fileSource(join(hfDir, 'model.safetensors')));
  const written: string[] = [];
  // One file in memory at a time (weight chunks are produced as they are written).
  for (const f of convertViTCheckpoint(await readFile(join(hfDir, 'config.json')), await readFile(join(hfDir, 'preprocessor_config.json')), weights)) {
    written.push(...await writeFolder(outDir, new Map([[f.path, await f.read()]])));
  }
  return written;
}

async function writeFolder(dir: string, files: Map<string, Uint8Array>): Promise<string[]> {
  const written: string[] = [];
  for (const [rel, bytes] of files) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    written.push(path);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const args = process.argv.slice(2);
  const usage = 'usage: tsx scripts/build-tiny-nsfw-classifier.ts <out-dir> | --convert <hf-folder> <out-dir>';
  let written: string[];
  if (args[0] === '--convert') {
    if (args.length !== 3) {
      console.error(usage);
      process.exit(2);
    }
    written = await convertHfViTFolder(resolve(args[1]), resolve(args[2]));
  } else {
    if (args.length !== 1) {
      console.error(usage);
      process.exit(2);
    }
    written = await writeTinyNsfwClassifier(resolve(args[0]));
  }
  for (const p of written) console.log(p);
}
