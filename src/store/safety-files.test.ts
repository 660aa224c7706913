/**
 * The safety checker's way through the model store, without a browser: conversion of a classifier in
 * Falconsai's published layout into the package's `safety/` folder (convertSafetyChecker), the manifest's
 * bookkeeping (bytes, file list, roles), and the fetch that serves the stored files to transformers.js —
 * checked by hand (Range probes) and by the real transformers.js (Node build, same hub code as the web build)
 * probing and reading through that fetch from an http "host" that does not exist.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { manifestTotalBytes, SAFETY_CHECKER_DIR, writeManifest, type PackageFile, type PackageManifest, type PackageSink } from '../models/model-package.ts';
import { importTransformersSharingOrt, SafetyChecker, type SharedOrt } from '../safety/safety-checker.ts';
import { TINY_NSFW_CONFIG, tinyNsfwProbability, tinyNsfwPublishedFiles } from '../models/tiny-classifier.ts';
import { buildViTForImageClassification } from '../models/vit-classifier.ts';
import { DescriptorError } from './errors.ts';
import { convertSafetyChecker } from './convert-component.ts';
import type { InstallEvent } from './progress.ts';
import { manifestFiles, packageFileRole } from './package-store.ts';
import { packageFilesFetch, parseByteRange, SAFETY_MODEL_ID, storeModelBase } from './safety-files.ts';

function memorySink(): PackageSink & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return { files, write: async (path, bytes) => void files.set(path, Uint8Array.from(bytes)) };
}

const reader = (files: Map<string, Uint8Array>) => async (path: string) => {
  const b = files.get(path);
  return b ? new Blob([b as Uint8Array<ArrayBuffer>]) : undefined;
};

async function convertedTiny(threshold?: number) {
  const published = await tinyNsfwPublishedFiles(threshold);
  const sink = memorySink();
  const events: InstallEvent[] = [];
  const manifest = await convertSafetyChecker(
    { repo: 'test/nsfw', revision: 'main' },
    [...published].map(([path, bytes]) => ({ path, blob: new Blob([bytes as Uint8Array<ArrayBuffer>]) })),
    sink,
    (e) => events.push(e),
  );
  return { published, sink, events, manifest };
}

describe('safety checker in the model store', () => {
  it('converts the published layout (config.json, preprocessor_config.json, model.safetensors) into safety/ with hashes', async () => {
    const { published, sink, events, manifest } = await convertedTiny();
    expect(manifest.modelId).toBe('test/nsfw');
    expect(manifest.revision).toBe('main');
    expect(manifest.files.map((f) => f.path)).toEqual(['safety/config.json', 'safety/preprocessor_config.json', 'safety/onnx/model.onnx', 'safety/onnx/model.onnx_data']);
    expect([...sink.files.keys()].sort()).toEqual(manifest.files.map((f) => f.path).sort());
    for (const f of manifest.files) {
      const bytes = sink.files.get(f.path)!;
      expect(f.bytes).toBe(bytes.byteLength);
      const digest = Buffer.from(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)).toString('hex');
      expect(f.sha256).toBe(digest);
    }
    // preprocessor_config.json is copied unchanged; config.json gains the external-data count for transformers.js;
    // the weights are in the data file, the graph is small.
    const json = (b: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;
    expect(json(sink.files.get('safety/config.json'))).toEqual({ ...json(published.get('config.json')), 'transformers.js_config': { use_external_data_format: { 'model.onnx': 1 } } });
    expect(sink.files.get('safety/preprocessor_config.json')).toEqual(published.get('preprocessor_config.json'));
    expect(sink.files.get('safety/onnx/model.onnx_data')!.byteLength).toBeGreaterThan(published.get('model.safetensors')!.byteLength / 2);
    expect(sink.files.get('safety/onnx/model.onnx')!.byteLength).toBeLessThan(published.get('model.safetensors')!.byteLength / 2);
    expect(events.filter((e) => e.type === 'convert').map((e) => e.type === 'convert' && [e.kind, e.chunk, e.chunks])).toEqual([
      ['safety_checker', 1, 4], ['safety_checker', 2, 4], ['safety_checker', 3, 4], ['safety_checker', 4, 4],
    ]);
  });

  it('reads the weights Blob only by tensor-sized slices, never whole', async () => {
    const published = await tinyNsfwPublishedFiles();
    const safetensors = published.get('model.safetensors')!;
    const slices: number[] = [];
    class RangeOnlyBlob extends Blob {
      override slice(start?: number, end?: number, type?: string): Blob {
        slices.push((end ?? this.size) - (start ?? 0));
        return super.slice(start, end, type);
      }
      override arrayBuffer(): Promise<ArrayBuffer> {
        throw new Error('the whole checkpoint was read into memory');
      }
      override stream(): ReturnType<Blob['stream']> {
        throw new Error('the whole checkpoint was streamed');
      }
    }
    const inputs = [...published].map(([path, bytes]) => ({ path, blob: path === 'model.safetensors' ? new RangeOnlyBlob([bytes as Uint8Array<ArrayBuffer>]) : new Blob([bytes as Uint8Array<ArrayBuffer>]) }));
    const manifest = await convertSafetyChecker({ repo: 'test/nsfw', revision: 'main' }, inputs, memorySink(), () => undefined);
    const data = manifest.files.find((f) => f.path === 'safety/onnx/model.onnx_data')!;
    const largestTensor = Math.max(...[...buildViTForImageClassification(TINY_NSFW_CONFIG).expected.values()].map((shape) => shape.reduce((a, d) => a * d, 4)));
    const headerBytes = Number(new DataView(safetensors.buffer, safetensors.byteOffset, 8).getBigUint64(0, true));
    expect(headerBytes).toBeLessThan(largestTensor);
    expect(Math.max(...slices)).toBe(largestTensor); // the JSON header, then one tensor per read
    expect(slices.reduce((a, b) => a + b, 0)).toBeLessThan(safetensors.byteLength * 1.1); // each tensor read once
    expect(data.bytes).toBeGreaterThan(largestTensor);
  });

  it('transformers.js (Node) loads the converted checker — graph plus the external data config.json announces — and classifies', async () => {
    const { sink } = await convertedTiny();
    const root = await mkdtemp(join(tmpdir(), 'sote-safety-converted-'));
    try {
      for (const [path, bytes] of sink.files) {
        const file = join(root, 'converted', path.slice(SAFETY_CHECKER_DIR.length));
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, bytes);
      }
      const checker = await SafetyChecker.load({ ort: ortNode as unknown as SharedOrt, modelId: 'converted', modelBase: `${root}/`, device: 'cpu' });
      const flat = (level: number) => ({ width: 32, height: 32, rgb: new Uint8Array(32 * 32 * 3).fill(level) });
      const r = await checker.checkImages([flat(255), flat(0)]);
      await checker.dispose();
      expect(r.flagged).toEqual([true, false]);
      expect(r.nsfwProbability[0]).toBeCloseTo(tinyNsfwProbability(255), 4);
      expect(r.nsfwProbability[1]).toBeCloseTo(tinyNsfwProbability(0), 4);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a classifier without an "nsfw" class, and a missing file', async () => {
    const published = await tinyNsfwPublishedFiles();
    const cfg = JSON.parse(new TextDecoder().decode(published.get('config.json'))) as Record<string, unknown>;
    cfg.id2label = { 0: 'normal', 1: 'porn' };
    const inputs = [...published].map(([path, bytes]) => ({ path, blob: new Blob([(path === 'config.json' ? new TextEncoder().encode(JSON.stringify(cfg)) : bytes) as Uint8Array<ArrayBuffer>]) }));
    await expect(convertSafetyChecker({ repo: 'x/y', revision: 'main' }, inputs, memorySink(), () => undefined)).rejects.toThrow(/id2label has no "nsfw" class/);
    await expect(convertSafetyChecker({ repo: 'x/y', revision: 'main' }, inputs.filter((f) => f.path !== 'model.safetensors'), memorySink(), () => undefined))
      .rejects.toBeInstanceOf(DescriptorError);
  });

  it('the manifest counts, lists and maps the checker files (total bytes, re-verify/export list, package-install roles)', async () => {
    const { manifest } = await convertedTiny();
    const tok: PackageFile[] = [{ path: 'tokenizer/vocab.json', bytes: 10, sha256: 'a'.repeat(64) }];
    const sink = memorySink();
    const written = await writeManifest(sink, { name: 't', precision: 'fp32', components: {}, tokenizer: tok, safetyChecker: manifest, source: {} });
    const checkerBytes = manifest.files.reduce((a, f) => a + f.bytes, 0);
    expect(written.totalBytes).toBe(10 + checkerBytes);
    expect(manifestTotalBytes({ components: {}, tokenizer: tok })).toBe(10);
    const stored = JSON.parse(new TextDecoder().decode(sink.files.get('manifest.json'))) as PackageManifest;
    expect(stored.safetyChecker).toEqual(manifest);
    expect(manifestFiles(written).map((f) => f.path)).toEqual(['tokenizer/vocab.json', ...manifest.files.map((f) => f.path)]);
    expect(manifestFiles({ ...written, safetyChecker: undefined }).map((f) => f.path)).toEqual(['tokenizer/vocab.json']);

    expect(packageFileRole('safety/onnx/model.onnx')).toBe('safety_checker');
    expect(packageFileRole('safety/config.json')).toBe('safety_checker');
    expect(packageFileRole('tokenizer/merges.txt')).toBe('tokenizer');
    expect(packageFileRole('stage_c.onnx')).toBe('stage_c');
    expect(packageFileRole('stage_b_cond.onnx.data.3')).toBe('stage_b');
    expect(packageFileRole('clip_text.onnx.data.0')).toBe('clip_text');
    expect(() => packageFileRole('unknown.bin')).toThrow(/belongs to no network/);
  });

  it('parses byte ranges as RFC 9110 does', () => {
    expect(parseByteRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseByteRange('bytes=3-', 10)).toEqual({ start: 3, end: 9 });
    expect(parseByteRange('bytes=-4', 10)).toEqual({ start: 6, end: 9 });
    expect(parseByteRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    expect(parseByteRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=0-0', 0)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=0-1,3-4', 10)).toBeUndefined();
    expect(parseByteRange(null, 10)).toBeUndefined();
  });

  it('the store fetch answers transformers.js probes (Range bytes=0-0 → 206) and reads (200), 404 for anything not stored', async () => {
    const { sink } = await convertedTiny();
    const served: string[] = [];
    const base = `${storeModelBase('http://127.0.0.1:9', 'tiny-sote@fp32')}${SAFETY_CHECKER_DIR}`;
    expect(base).toBe('http://127.0.0.1:9/sote-store/tiny-sote%40fp32/safety/');
    sink.files.set('stage_c.onnx', new Uint8Array(7)); // another package file: never served through this fetch
    const f = packageFilesFetch(base, SAFETY_CHECKER_DIR, reader(sink.files), (p, status, bytes) => served.push(`${p} ${status} ${bytes}`));
    const config = sink.files.get('safety/config.json')!;

    const probe = await f(`${base}config.json`, { method: 'GET', headers: new Headers({ Range: 'bytes=0-0' }), cache: 'no-store' });
    expect(probe.status).toBe(206);
    expect(probe.headers.get('Content-Range')).toBe(`bytes 0-0/${config.byteLength}`);
    expect(probe.headers.get('Content-Length')).toBe('1');
    expect(new Uint8Array(await probe.arrayBuffer())).toEqual(config.subarray(0, 1));

    const full = await f(new URL(`${base}config.json`), { headers: new Headers() });
    expect(full.status).toBe(200);
    expect(full.headers.get('Content-Length')).toBe(String(config.byteLength));
    expect(full.headers.get('Content-Type')).toBe('application/json');
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(config);

    const model = sink.files.get('safety/onnx/model.onnx')!;
    const tail = await f(new Request(`${base}onnx/model.onnx`, { headers: { Range: 'bytes=-5' } }));
    expect(tail.status).toBe(206);
    expect(tail.headers.get('Content-Range')).toBe(`bytes ${model.byteLength - 5}-${model.byteLength - 1}/${model.byteLength}`);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(model.subarray(model.byteLength - 5));

    expect((await f(`${base}onnx/model.onnx`, { method: 'HEAD' })).headers.get('Content-Length')).toBe(String(model.byteLength));
    expect((await f(`${base}config.json`, { headers: { Range: `bytes=${config.byteLength}-` } })).status).toBe(416);
    expect((await f(`${base}config.json`, { method: 'POST' })).status).toBe(405);
    for (const missing of [`${base}tokenizer_config.json`, `${base}onnx/model_quantized.onnx`, `${base}../stage_c.onnx`,
      `${base.replace('safety/', '')}stage_c.onnx`, 'http://127.0.0.1:9/sote-store/other%40fp32/safety/config.json', 'https://huggingface.co/x/resolve/main/config.json']) {
      expect((await f(missing)).status, missing).toBe(404);
    }
    expect(served[0]).toBe(`config.json 206 1`);
  });

  it('transformers.js finds and reads the stored checker through the store fetch (remote host = a store URL no server answers)', async () => {
    // In Node transformers.js reads remote ONNX files only through a file cache (return_path), so the session
    // itself is loaded through this fetch in Chromium (e2e/store-install.test.ts); here: its probes, config and
    // image processor — the steps that decide whether optional files exist.
    const { sink } = await convertedTiny();
    const base = storeModelBase('http://127.0.0.1:9', 'tiny-sote@fp32');
    const requests: string[] = [];
    const tf = await importTransformersSharingOrt(ortNode as unknown as SharedOrt);
    // What SafetyChecker.load sets for an absolute http(s) modelBase.
    Object.assign(tf.env, { allowLocalModels: false, allowRemoteModels: true, remoteHost: base, remotePathTemplate: '{model}/', useBrowserCache: false, useFSCache: false });
    tf.env.fetch = packageFilesFetch(`${base}${SAFETY_CHECKER_DIR}`, SAFETY_CHECKER_DIR, reader(sink.files), (p, status) => requests.push(`${p} ${status}`));
    const model = sink.files.get('safety/onnx/model.onnx')!;
    expect(await tf.ModelRegistry.get_file_metadata(SAFETY_MODEL_ID, 'onnx/model.onnx')).toMatchObject({ exists: true, size: model.byteLength });
    expect(await tf.ModelRegistry.get_file_metadata(SAFETY_MODEL_ID, 'tokenizer_config.json')).toMatchObject({ exists: false });
    const config = await tf.AutoConfig.from_pretrained(SAFETY_MODEL_ID);
    expect((config as unknown as { id2label: Record<string, string> }).id2label).toEqual({ 0: 'normal', 1: 'nsfw' });
    const processor = await tf.AutoImageProcessor.from_pretrained(SAFETY_MODEL_ID);
    const px = await processor(new tf.RawImage(new Uint8Array(64 * 64 * 3).fill(255), 64, 64, 3));
    expect((px as { pixel_values: { dims: number[] } }).pixel_values.dims).toEqual([1, 3, 32, 32]);
    console.log(`store fetch requests: ${requests.join(', ')}`);
    expect(requests).toContain('onnx/model.onnx 206');
    expect(requests).toContain('tokenizer_config.json 404');
    expect(requests).toContain('config.json 200');
    expect(requests).toContain('preprocessor_config.json 200');
  });
});
