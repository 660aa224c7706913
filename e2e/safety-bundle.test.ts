/**
 * "One onnxruntime-web in the bundle": a production Vite build (project config) of a page that imports
 * 'onnxruntime-web/webgpu' exactly as the generator worker does AND the safety checker (which lazily imports
 * @huggingface/transformers). The output must hold one ORT wasm (the asyncify build of our 1.30.0), no glue
 * .mjs, no JSEP build, and nothing from the onnxruntime-web 1.31 nightly transformers.js 4.3.1 would pin
 * without package.json's overrides.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { REPO_ROOT } from './support/server.ts';

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

describe('production bundle with the safety checker', () => {
  let outDir = '';
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('holds a single onnxruntime-web (one asyncify .wasm, no .mjs glue, no 1.31 nightly)', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'sote-safety-bundle-'));
    await build({
      configFile: join(REPO_ROOT, 'vite.config.ts'),
      root: REPO_ROOT,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, rollupOptions: { input: join(REPO_ROOT, 'e2e/pages/safety.html') } },
    });
    const files = (await listFiles(outDir)).map((f) => relative(outDir, f));
    const ort = files.filter((f) => /(^|\/)ort[^/]*$/.test(f));
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    const js = files.filter((f) => f.startsWith('assets/') && f.endsWith('.js'));
    console.log(`bundle: ort files ${JSON.stringify(ort)}; js chunks ${JSON.stringify(js)}`);
    expect(wasm).toHaveLength(1);
    expect(wasm[0]).toMatch(/^assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/);
    expect(ort).toEqual(wasm);
    expect(js.some((f) => f.includes('transformers'))).toBe(true); // the checker really is in this bundle
    for (const f of js) {
      const text = await readFile(join(outDir, f), 'utf8');
      expect(text.includes('1.31.0-dev'), `${f} mentions the onnxruntime-web nightly`).toBe(false);
      expect(text.includes('.jsep.'), `${f} references the JSEP build`).toBe(false);
    }
  });
});
