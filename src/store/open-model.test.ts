// The installed-model branch reads IndexedDB: e2e/store-install.test.ts loads installed models (and their
// store-served checkers) through the real worker. Here: the names and the URL branch, which touch no storage.
import { describe, expect, it } from 'vitest';
import { openModel, packageUrl } from './open-model.ts';

const page = 'http://127.0.0.1:5173/workers/generator.worker.ts';

describe('packageUrl', () => {
  it('resolves a package URL against the page', () => {
    expect(packageUrl({ modelUrl: '/models/tiny-demo/' }, page)).toBe('http://127.0.0.1:5173/models/tiny-demo/');
    expect(packageUrl({ modelUrl: '../models/x/' }, page)).toBe('http://127.0.0.1:5173/models/x/');
    expect(packageUrl({ modelUrl: 'https://mirror.example/p/' }, page)).toBe('https://mirror.example/p/');
  });

  it('names an installed model by its store id', () => {
    expect(packageUrl({ modelId: 'sotediffusion-v2@int8' }, page)).toBe('indexeddb:sotediffusion-v2@int8');
  });
});

describe('openModel (URL package)', () => {
  it('reads files under the resolved URL, without a size (known after its manifest) or a stored checker', async () => {
    const opened = await openModel({ modelUrl: '/models/tiny-demo' }, page);
    expect(opened).toBeDefined();
    expect(opened!.packageBytes).toBeUndefined();
    expect(opened!.checker).toBeUndefined();
    expect(opened!.reader.description).toBe('http://127.0.0.1:5173/models/tiny-demo/');
    await expect(opened!.reader.file('stage_c.onnx')).resolves.toBe('http://127.0.0.1:5173/models/tiny-demo/stage_c.onnx');
  });
});
