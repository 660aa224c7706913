/**
 * The service worker (production builds only; registered by src/offline/register.ts, built by
 * src/offline/vite-plugin.ts into `<outDir>/sw.js` as a classic script with the precache manifest prepended as
 * `self.__SOTE_PRECACHE__`). This file must stay import-free: it is transpiled on its own, not bundled.
 *
 * What it does:
 * - install: downloads every file of the build (app shell, worker bundle, onnxruntime-web .wasm, the demo model
 *   package under models/tiny-demo/) into one versioned cache `sote-precache-<version>`. Each file is fetched
 *   with `cache: 'reload'`, must be a 200 same-origin response (never a 206, never a redirect, never an HTML page
 *   standing in for a missing .onnx/.wasm) and must match the build's size and sha256; otherwise install fails and
 *   the previous worker (if any) stays. Files whose revision did not change are copied from the previous cache,
 *   not downloaded again.
 * - activate: deletes every other `sote-precache-*` cache, then claims the open pages.
 * - fetch: same-origin GETs only. Precached files are served cache-first (HTTP Range answered from the cached
 *   body); navigations fall back to the cached index.html; everything else goes to the network untouched
 *   apart from the headers below and is never cached. Cross-origin requests (model downloads from a hub; the model
 *   store keeps those in IndexedDB) are not intercepted at all.
 * - every response it hands out carries Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy:
 *   require-corp and Cross-Origin-Resource-Policy: same-origin (unless the response already has them), so a page
 *   and its module worker loaded from the cache while offline are still `crossOriginIsolated` and
 *   onnxruntime-web's WASM backend still gets SharedArrayBuffer threads.
 * - message `{ type: 'sote-offline-status' }` answers (on the given MessagePort, else to the sender) with
 *   `OfflineStatus` (see register.ts).
 */

interface PrecacheEntry {
  /** Absolute path on this origin, e.g. '/assets/index-abc.js'. */
  url: string;
  /** sha256 of the file, hex. */
  sha256: string;
  size: number;
}

interface PrecacheManifest {
  /** Hash over all entries: names the cache. */
  version: string;
  /** Path of the HTML page served for navigations (the SPA shell), e.g. '/index.html'. */
  navigationFallback: string;
  /** Header name → value added to every response. */
  headers: Record<string, string>;
  entries: PrecacheEntry[];
}

// Minimal service-worker typings (the project's lib is DOM; the WebWorker lib would clash with it).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface ExtendableMessageEvent extends ExtendableEvent {
  readonly data: unknown;
  readonly ports: readonly MessagePort[];
  readonly source: { postMessage(message: unknown): void } | null;
}
interface ServiceWorkerScope {
  readonly __SOTE_PRECACHE__: PrecacheManifest;
  readonly location: Location;
  readonly caches: CacheStorage;
  readonly crypto: Crypto;
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  addEventListener(type: 'message', listener: (event: ExtendableMessageEvent) => void): void;
}
declare const self: ServiceWorkerScope;

const MANIFEST = self.__SOTE_PRECACHE__;
const CACHE_PREFIX = 'sote-precache-';
const CACHE_NAME = CACHE_PREFIX + MANIFEST.version;
/** Stored on each cached response: the sha256 it was verified against. */
const REVISION_HEADER = 'x-sote-sha256';
const INSTALL_PARALLELISM = 4;

const byPath = new Map(MANIFEST.entries.map((e) => [e.url, e]));

const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** A copy of `res` with the isolation headers added (those already present are kept). */
function withIsolation(res: Response, extra?: Record<string, string>): Response {
  if (res.type === 'opaqueredirect' || res.type === 'opaque' || res.status === 0) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(MANIFEST.headers)) if (!headers.has(k)) headers.set(k, v);
  for (const [k, v] of Object.entries(extra ?? {})) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

async function fetchVerified(entry: PrecacheEntry): Promise<Response> {
  const res = await fetch(entry.url, { cache: 'reload', credentials: 'same-origin' });
  if (res.status !== 200) throw new Error(`precache ${entry.url}: HTTP ${res.status} (need a full 200 response)`);
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('text/html') && !entry.url.endsWith('.html')) {
    throw new Error(`precache ${entry.url}: got an HTML page (${type}); the server has no such file`);
  }
  const body = await res.arrayBuffer();
  if (body.byteLength !== entry.size) throw new Error(`precache ${entry.url}: ${body.byteLength} bytes, the build has ${entry.size}`);
  const sha = hex(await self.crypto.subtle.digest('SHA-256', body));
  if (sha !== entry.sha256) throw new Error(`precache ${entry.url}: sha256 ${sha} differs from the build's ${entry.sha256}`);
  const headers = new Headers(res.headers);
  headers.set(REVISION_HEADER, entry.sha256);
  headers.set('content-length', String(body.byteLength));
  return new Response(body, { status: 200, statusText: 'OK', headers });
}

/** The same file (same sha256) from an older precache, so an update downloads only what changed. */
async function fromOlderCache(entry: PrecacheEntry): Promise<Response | undefined> {
  for (const name of await self.caches.keys()) {
    if (!name.startsWith(CACHE_PREFIX) || name === CACHE_NAME) continue;
    const old = await (await self.caches.open(name)).match(entry.url);
    if (old?.headers.get(REVISION_HEADER) === entry.sha256) return old;
  }
  return undefined;
}

async function precache(): Promise<void> {
  const cache = await self.caches.open(CACHE_NAME);
  const queue = [...MANIFEST.entries];
  const work = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      const have = await cache.match(entry.url);
      if (have?.headers.get(REVISION_HEADER) === entry.sha256) continue;
      const res = (await fromOlderCache(entry)) ?? (await fetchVerified(entry));
      await cache.put(entry.url, res);
    }
  };
  await Promise.all(Array.from({ length: INSTALL_PARALLELISM }, work));
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await self.caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME) await self.caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Parses a single `bytes=` range against `size`; undefined = ignore the header (serve the whole file). */
function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

async function rangeResponse(cached: Response, header: string): Promise<Response> {
  const blob = await cached.blob();
  const range = parseRange(header, blob.size);
  if (range === undefined) return withIsolation(new Response(blob, { status: 200, headers: cached.headers }));
  if (range === 'unsatisfiable') {
    return withIsolation(new Response(null, { status: 416, headers: { 'content-range': `bytes */${blob.size}` } }));
  }
  const headers = new Headers(cached.headers);
  headers.set('content-range', `bytes ${range.start}-${range.end}/${blob.size}`);
  headers.set('content-length', String(range.end - range.start + 1));
  return withIsolation(new Response(blob.slice(range.start, range.end + 1), { status: 206, statusText: 'Partial Content', headers }));
}

async function respond(request: Request, path: string): Promise<Response> {
  const cache = await self.caches.open(CACHE_NAME);
  const isNavigation = request.mode === 'navigate';
  const key = byPath.has(path) ? path : isNavigation ? MANIFEST.navigationFallback : undefined;
  if (key !== undefined) {
    const cached = await cache.match(key);
    if (cached) {
      const range = request.headers.get('range');
      return range ? rangeResponse(cached, range) : withIsolation(cached);
    }
  }
  // Not precached (or the cache was cleared under us): network, never stored.
  try {
    return withIsolation(await fetch(request));
  } catch (e) {
    if (isNavigation) {
      const shell = await cache.match(MANIFEST.navigationFallback);
      if (shell) return withIsolation(shell);
      throw e;
    }
    // Offline and not precached: answer 404 rather than a network error. Loaders probe optional files
    // (transformers.js asks for tokenizer_config.json next to an image classifier) and treat "not found" as
    // "absent", but a failed fetch — or any other status — as fatal. Offline, an uncached file is indeed not here.
    return withIsolation(new Response(`offline, and ${path} is not cached`, { status: 404, statusText: 'Not Found (offline, not cached)' }));
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // cross-origin (hub downloads): untouched, never cached
  let path = url.pathname;
  if (path.endsWith('/') && byPath.has(path + 'index.html') && request.mode === 'navigate') path += 'index.html';
  event.respondWith(respond(request, path));
});

self.addEventListener('message', (event) => {
  const data = event.data as { type?: unknown } | null;
  if (data?.type !== 'sote-offline-status') return;
  event.waitUntil((async () => {
    const cache = await self.caches.open(CACHE_NAME);
    let cached = 0;
    let bytes = 0;
    for (const entry of MANIFEST.entries) {
      const res = await cache.match(entry.url);
      if (res?.headers.get(REVISION_HEADER) === entry.sha256) {
        cached++;
        bytes += entry.size;
      }
    }
    const status = {
      version: MANIFEST.version,
      cacheName: CACHE_NAME,
      files: MANIFEST.entries.length,
      totalBytes: MANIFEST.entries.reduce((a, e) => a + e.size, 0),
      cachedFiles: cached,
      cachedBytes: bytes,
    };
    if (event.ports[0]) event.ports[0].postMessage(status);
    else event.source?.postMessage(status);
  })());
});

export {};
