/**
 * The built service worker (src/offline/sw.ts + the manifest the build plugin prepends) run in a node:vm context
 * with an in-memory CacheStorage and a fake network: what is precached and what install refuses, old caches
 * dropped on activate, isolation headers on every response, Range answered from the cache, cross-origin requests
 * left alone. The real browser path is covered by e2e/offline-reload.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headersFile, precacheEntries, serviceWorkerScript, type PrecacheEntry } from './vite-plugin.ts';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const ORIGIN = 'http://app.test';

class MemoryCache {
  readonly entries = new Map<string, Response>();
  async match(req: string | Request) {
    return this.entries.get(new URL(typeof req === 'string' ? req : req.url, ORIGIN).href)?.clone();
  }
  async put(req: string | Request, res: Response) {
    this.entries.set(new URL(typeof req === 'string' ? req : req.url, ORIGIN).href, res.clone());
  }
}

class MemoryCacheStorage {
  readonly caches = new Map<string, MemoryCache>();
  async open(name: string) {
    if (!this.caches.has(name)) this.caches.set(name, new MemoryCache());
    return this.caches.get(name)!;
  }
  async keys() { return [...this.caches.keys()]; }
  async delete(name: string) { return this.caches.delete(name); }
}

type Listener = (event: unknown) => void;

/** Loads sw.js into a fresh context; `files` is what the fake network serves (path → body or a Response maker). */
function loadWorker(script: string, network: (url: string) => Response, storage = new MemoryCacheStorage()) {
  const listeners = new Map<string, Listener>();
  const fetched: string[] = [];
  const scope: Record<string, unknown> = {
    location: new URL(`${ORIGIN}/`),
    caches: storage,
    crypto: globalThis.crypto,
    clients: { claim: async () => undefined },
    skipWaiting: async () => undefined,
    addEventListener: (type: string, fn: Listener) => listeners.set(type, fn),
    fetch: async (input: string | Request) => {
      const url = new URL(typeof input === 'string' ? input : input.url, ORIGIN).href;
      fetched.push(url);
      return network(url);
    },
    Headers, Request, Response, URL, Blob, console, setTimeout,
  };
  scope.self = scope;
  runInNewContext(script, scope);
  const extendable = () => {
    const waits: Promise<unknown>[] = [];
    return { event: { waitUntil: (p: Promise<unknown>) => waits.push(p) }, done: () => Promise.all(waits) };
  };
  return {
    storage,
    fetched,
    async install() { const e = extendable(); listeners.get('install')!(e.event); await e.done(); },
    async activate() { const e = extendable(); listeners.get('activate')!(e.event); await e.done(); },
    /** undefined when the worker does not intercept (the browser goes to the network itself). */
    async fetch(url: string, init: RequestInit & { mode?: string } = {}): Promise<Response | undefined> {
      let responded: Promise<Response> | Response | undefined;
      const { mode, ...rest } = init;
      const real = new Request(new URL(url, ORIGIN), rest);
      // Node's Request cannot be made with mode 'navigate'; the worker reads only these fields.
      const request = mode === 'navigate' ? { url: real.url, method: real.method, headers: real.headers, mode } : real;
      const event = { request, respondWith: (r: Promise<Response>) => { responded = r; }, waitUntil() {} };
      listeners.get('fetch')!(event);
      return responded ? await responded : undefined;
    },
  };
}

describe('offline service worker', () => {
  let dir: string;
  const files: Record<string, Uint8Array> = {
    'index.html': new TextEncoder().encode('<!doctype html><title>Sote</title>'),
    'assets/index-abc.js': new TextEncoder().encode('console.log(1)'),
    'assets/ort-wasm-simd-threaded.asyncify-x.wasm': new Uint8Array(4096).map((_, i) => (i * 7) & 255),
    'models/tiny-demo/manifest.json': new TextEncoder().encode('{"files":[]}'),
    'models/tiny-demo/stage_c.onnx.data.0': new Uint8Array(1000).map((_, i) => i & 255),
    'assets/index-abc.js.map': new TextEncoder().encode('{}'),
    'sw.js': new TextEncoder().encode('old'),
    '_headers': new TextEncoder().encode('old'),
  };
  let entries: PrecacheEntry[];
  let script: string;
  const serve = (overrides: Record<string, Response> = {}) => (url: string) => {
    const path = new URL(url).pathname;
    if (overrides[path]) return overrides[path].clone();
    const body = files[path.slice(1)];
    return body ? new Response(body.slice(), { status: 200, headers: { 'content-type': 'application/octet-stream' } }) : new Response('<html>spa</html>', { status: 200, headers: { 'content-type': 'text/html' } });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sote-sw-test-'));
    for (const [path, bytes] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), bytes);
    }
    entries = await precacheEntries(dir, '/');
    script = await serviceWorkerScript(entries, '/', ISOLATION);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists every built file except the worker, host config and source maps, with size and sha256', () => {
    expect(entries.map((e) => e.url)).toEqual([
      '/assets/index-abc.js', '/assets/ort-wasm-simd-threaded.asyncify-x.wasm', '/index.html',
      '/models/tiny-demo/manifest.json', '/models/tiny-demo/stage_c.onnx.data.0',
    ]);
    const wasm = entries.find((e) => e.url.endsWith('.wasm'))!;
    expect(wasm.size).toBe(4096);
    expect(wasm.sha256).toBe(createHash('sha256').update(files['assets/ort-wasm-simd-threaded.asyncify-x.wasm']).digest('hex'));
    expect(script).not.toMatch(/^\s*(import|export)\b/m);
    expect(headersFile(ISOLATION, '/', 'sw.js')).toMatch(/^\/\*\n {2}Cross-Origin-Resource-Policy: same-origin\n {2}Cross-Origin-Opener-Policy: same-origin\n {2}Cross-Origin-Embedder-Policy: require-corp\n/m);
  });

  it('precaches on install, serves cache-first with COOP/COEP/CORP, answers Range from the cache, ignores cross-origin', async () => {
    const sw = loadWorker(script, serve());
    await sw.install();
    await sw.activate();
    expect(sw.storage.caches.size).toBe(1);
    const [cache] = sw.storage.caches.values();
    expect(cache.entries.size).toBe(entries.length);
    sw.fetched.length = 0;

    const page = (await sw.fetch('/', { mode: 'navigate' }))!;
    expect(await page.text()).toContain('<title>Sote</title>');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect((await (await sw.fetch('/some/spa/route', { mode: 'navigate' }))!.text())).toContain('<title>Sote</title>');

    const wasm = (await sw.fetch('/assets/ort-wasm-simd-threaded.asyncify-x.wasm'))!;
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(files['assets/ort-wasm-simd-threaded.asyncify-x.wasm']);
    expect(wasm.headers.get('cross-origin-embedder-policy')).toBe('require-corp');

    const part = (await sw.fetch('/models/tiny-demo/stage_c.onnx.data.0', { headers: { range: 'bytes=10-19' } }))!;
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const tail = (await sw.fetch('/models/tiny-demo/stage_c.onnx.data.0', { headers: { range: 'bytes=-3' } }))!;
    expect([...new Uint8Array(await tail.arrayBuffer())]).toEqual([997 & 255, 998 & 255, 999 & 255]);
    expect((await sw.fetch('/models/tiny-demo/stage_c.onnx.data.0', { headers: { range: 'bytes=5000-' } }))!.status).toBe(416);
    expect(sw.fetched).toEqual([]); // all of it from the cache

    expect(await sw.fetch('https://huggingface.co/x/resolve/main/model.safetensors')).toBeUndefined();
    expect(await sw.fetch('/api', { method: 'POST', body: 'x' })).toBeUndefined();
    // Not precached: network (with the headers added), never stored.
    const other = (await sw.fetch('/not-in-build.txt'))!;
    expect(other.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(cache.entries.size).toBe(entries.length);
  });

  it('refuses partial, HTML-fallback and corrupted files (install fails, nothing half-trusted)', async () => {
    const data = files['models/tiny-demo/stage_c.onnx.data.0'];
    const bad: Record<string, Response>[] = [
      { '/models/tiny-demo/stage_c.onnx.data.0': new Response(data.slice(0, 10), { status: 206, headers: { 'content-range': 'bytes 0-9/1000' } }) },
      { '/assets/ort-wasm-simd-threaded.asyncify-x.wasm': new Response('<html>spa</html>', { status: 200, headers: { 'content-type': 'text/html' } }) },
      { '/models/tiny-demo/stage_c.onnx.data.0': new Response(data.map((b, i) => (i === 500 ? b ^ 1 : b)), { status: 200 }) },
      { '/index.html': new Response('gone', { status: 404 }) },
    ];
    const messages = [/HTTP 206/, /HTML page/, /sha256/, /HTTP 404/];
    for (const [i, overrides] of bad.entries()) {
      const sw = loadWorker(script, serve(overrides));
      await expect(sw.install()).rejects.toThrow(messages[i]);
    }
  });

  it('a new build reuses unchanged files from the old cache and activate deletes the old cache', async () => {
    const storage = new MemoryCacheStorage();
    const first = loadWorker(script, serve(), storage);
    await first.install();
    await first.activate();
    const changed = entries.map((e) => (e.url === '/assets/index-abc.js' ? { ...e, sha256: createHash('sha256').update('console.log(2)').digest('hex'), size: 14 } : e));
    const second = loadWorker(await serviceWorkerScript(changed, '/', ISOLATION), serve({ '/assets/index-abc.js': new Response('console.log(2)') }), storage);
    await second.install();
    expect(second.fetched).toEqual([`${ORIGIN}/assets/index-abc.js`]);
    expect(storage.caches.size).toBe(2);
    await second.activate();
    expect(storage.caches.size).toBe(1);
    expect(await (await second.fetch('/assets/index-abc.js'))!.text()).toBe('console.log(2)');
  });
});
