/**
 * The safety checker in Node through the real transformers.js image-classification pipeline, bound to
 * onnxruntime-node (our copy), loading the tiny bright-image classifier from a local folder with remote models
 * disabled. The browser path (onnxruntime-web, served files) is e2e/safety-checker.test.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GeneratedImage } from '../pipeline/text-to-image.ts';
import {
  applySafetyChecker,
  lazySafetyChecker,
  safetyLogMessage,
  SafetyChecker,
  type SafetyEvent,
  type SharedOrt,
} from './safety-checker.ts';
import { tinyNsfwClassifierFiles, tinyNsfwProbability } from '../models/tiny-classifier.ts';

const MODEL_ID = 'tiny-nsfw';
const flat = (width: number, height: number, level: number): GeneratedImage => ({ width, height, rgb: new Uint8Array(width * height * 3).fill(level) });

describe('safety checker (transformers.js on onnxruntime-node)', () => {
  let root = '';
  const fetches: string[] = [];
  const options = () => ({
    ort: ortNode as unknown as SharedOrt,
    modelId: MODEL_ID,
    modelBase: `${root}/`,
    device: 'cpu' as const,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      fetches.push(String(input));
      return fetch(input, init);
    }) as typeof fetch,
  });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sote-safety-'));
    for (const [rel, bytes] of await tinyNsfwClassifierFiles()) {
      const path = join(root, MODEL_ID, rel);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('disabled: never loads the classifier, images unchanged, has_nsfw_concepts all false', async () => {
    const load = vi.fn(() => Promise.reject(new Error('must not load')));
    const images = [flat(8, 8, 255), flat(8, 8, 0)];
    const events: SafetyEvent[] = [];
    const r = await applySafetyChecker(images, false, load, (e) => events.push(e));
    expect(load).not.toHaveBeenCalled();
    expect(r.has_nsfw_concepts).toEqual([false, false]);
    expect(r.images[0]).toBe(images[0]);
    expect(r.images[1]).toBe(images[1]);
    expect(r.timings.safety_checker).toBeUndefined();
    expect(events).toEqual([{ type: 'safety-disabled', images: 2 }]);
    const lazy = lazySafetyChecker(options());
    await applySafetyChecker(images, false, () => lazy.get());
    expect(lazy.loaded).toBe(false);
  });

  it('enabled: a bright image is flagged and blacked out, a dark one passes unchanged', async () => {
    const lazy = lazySafetyChecker(options());
    const bright = flat(64, 48, 230);
    const dark = flat(48, 64, 20);
    const events: SafetyEvent[] = [];
    const r = await applySafetyChecker([bright, dark], true, () => lazy.get(), (e) => events.push(e));
    for (const e of events) console.log(safetyLogMessage(e));
    expect(r.has_nsfw_concepts).toEqual([true, false]);
    expect(r.images[0]).toMatchObject({ width: 64, height: 48 });
    expect(r.images[0].rgb.length).toBe(64 * 48 * 3);
    expect(r.images[0].rgb.every((v) => v === 0)).toBe(true);
    expect(r.images[1]).toBe(dark);
    expect(bright.rgb[0]).toBe(230); // the input is not modified in place
    // Uniform images stay uniform through the processor's DOWNscale to 32², so P(nsfw) is known exactly. (In Node,
    // transformers.js resizes with sharp, whose UPscale darkens edge pixels of a flat image: 40×24 → 32² gives
    // edge values of level ~173 for a flat 230. Generated images are ≥ 256², so only downscales occur.)
    expect(r.nsfwProbability[0]).toBeCloseTo(tinyNsfwProbability(230), 5);
    expect(r.nsfwProbability[1]).toBeCloseTo(tinyNsfwProbability(20), 5);
    expect(r.timings.safety_checker).toBeGreaterThan(0);
    expect(events.map((e) => e.type)).toEqual(['safety-loaded', 'safety-image', 'safety-image']);
    // Local folder only: transformers.js read files from disk and fetched nothing.
    expect(fetches).toEqual([]);

    // Second call reuses the loaded checker (no second 'safety-loaded').
    const events2: SafetyEvent[] = [];
    const r2 = await applySafetyChecker([flat(64, 64, 128)], true, () => lazy.get(), (e) => events2.push(e));
    expect(events2.map((e) => e.type)).toEqual(['safety-image']);
    expect(r2.nsfwProbability[0]).toBeCloseTo(tinyNsfwProbability(128), 5);
    expect(r2.has_nsfw_concepts).toEqual([tinyNsfwProbability(128) > 0.5]);
    await (await lazy.get()).dispose();
  });

  it('checkImages reports probabilities and timing; a mis-sized buffer is an error', async () => {
    const checker = await SafetyChecker.load(options());
    expect(checker.labels).toEqual(['normal', 'nsfw']);
    const r = await checker.checkImages([flat(32, 32, 255), flat(32, 32, 0)]);
    expect(r.flagged).toEqual([true, false]);
    expect(r.nsfwProbability[0]).toBeGreaterThan(0.999);
    expect(r.nsfwProbability[1]).toBeLessThan(0.001);
    expect(r.ms).toBeGreaterThan(0);
    await expect(checker.checkImages([{ width: 4, height: 4, rgb: new Uint8Array(5) }])).rejects.toThrow(/bytes/);
    await checker.dispose();
  });

  it('a model folder without an "nsfw" label is refused', async () => {
    const other = join(root, 'no-nsfw');
    for (const [rel, bytes] of await tinyNsfwClassifierFiles()) {
      const path = join(other, rel);
      await mkdir(dirname(path), { recursive: true });
      let data = bytes;
      if (rel === 'config.json') {
        const cfg = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
        cfg.id2label = { '0': 'normal', '1': 'porn' };
        cfg.label2id = { normal: 0, porn: 1 };
        data = new TextEncoder().encode(JSON.stringify(cfg));
      }
      await writeFile(path, data);
    }
    await expect(SafetyChecker.load({ ...options(), modelId: 'no-nsfw' })).rejects.toThrow(/no "nsfw" label/);
  });
});
