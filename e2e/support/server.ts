/**
 * Servers for browser tests.
 *
 * - startViteServer: the project's own Vite dev server (vite.config.ts, so COOP/COEP apply) on 127.0.0.1 and a
 *   free port; test pages live under /e2e/pages/.
 * - startStaticServer: a tiny node:http file server for arbitrary folders (golden data, fake model hubs) with
 *   HTTP Range (206 / Content-Range / Accept-Ranges), CORS + Cross-Origin-Resource-Policy: cross-origin (so a
 *   cross-origin-isolated page may fetch from it), a per-path count of body bytes served, and an optional
 *   per-request cut-off that drops the connection mid-body (for resumable-download tests).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createViteServer, type ViteDevServer } from 'vite';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningVite {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly origin: string;
  readonly server: ViteDevServer;
  stop(): Promise<void>;
}

export async function startViteServer(): Promise<RunningVite> {
  // A private dep-optimizer cache: parallel runs (other engineers, CI retries) never fight over node_modules/.vite.
  const cacheDir = await mkdtemp(join(tmpdir(), 'sote-vite-cache-'));
  const server = await createViteServer({
    configFile: join(REPO_ROOT, 'vite.config.ts'),
    root: REPO_ROOT,
    cacheDir,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | null;
  if (!address || typeof address === 'string') throw new Error('vite dev server did not report a TCP address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    server,
    async stop() {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

export interface StaticRequestLog {
  method: string;
  path: string;
  range: string | undefined;
  /** The Authorization header as received (token tests check where credentials went). */
  authorization: string | undefined;
  status: number;
  /** Body bytes actually written (less than planned when the response was cut off). */
  bytes: number;
}

export interface StaticServerOptions {
  /**
   * Called per GET; returning a number makes the server send at most that many body bytes of this response and
   * then destroy the socket (a dropped connection). Return undefined to serve normally.
   */
  cutAfterBytes?: (path: string, req: IncomingMessage) => number | undefined;
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:41235 (no trailing slash). */
  readonly origin: string;
  /** URL of a file under the served root, e.g. url('stage_c_config.json'). */
  url(relativePath: string): string;
  /** Body bytes served for a URL path ('/stage_c_weights.safetensors'), summed over all requests. */
  bytesServed(path: string): number;
  totalBytesServed(): number;
  readonly requests: StaticRequestLog[];
  resetCounters(): void;
  stop(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  js: 'text/javascript',
  mjs: 'text/javascript',
  wasm: 'application/wasm',
  txt: 'text/plain; charset=utf-8',
};

function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // multi-range or malformed: ignore, send the whole file
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

/** Serves the files under `root` (read-only; no directory listings, no paths outside root). */
export async function startStaticServer(root: string, options: StaticServerOptions = {}): Promise<StaticServer> {
  const absRoot = resolve(root);
  const served = new Map<string, number>();
  const requests: StaticRequestLog[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const log: StaticRequestLog = { method: req.method ?? '', path, range: req.headers.range, authorization: req.headers.authorization, status: 0, bytes: 0 };
    requests.push(log);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Range, If-Range, Content-Type, Authorization');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    const finish = (status: number, body?: string) => {
      log.status = status;
      res.statusCode = status;
      res.end(body);
    };
    if (req.method === 'OPTIONS') return finish(204);
    if (req.method !== 'GET' && req.method !== 'HEAD') return finish(405, 'method not allowed');

    const file = normalize(join(absRoot, path));
    if (file !== absRoot && !file.startsWith(absRoot + sep)) return finish(403, 'outside the served folder');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return finish(404, 'not found');

    const size = info.size;
    const etag = `"${size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', info.mtime.toUTCString());
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', CONTENT_TYPES[path.split('.').pop() ?? ''] ?? 'application/octet-stream');

    let start = 0;
    let end = size - 1;
    let status = 200;
    const ifRange = req.headers['if-range'];
    if (req.headers.range && (!ifRange || ifRange === etag)) {
      const range = parseRange(req.headers.range, size);
      if (range === 'unsatisfiable') {
        res.setHeader('Content-Range', `bytes */${size}`);
        return finish(416);
      }
      if (range) {
        ({ start, end } = range);
        status = 206;
        res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
      }
    }
    const length = Math.max(0, end - start + 1);
    res.setHeader('Content-Length', String(length));
    log.status = status;
    res.statusCode = status;
    if (req.method === 'HEAD' || length === 0) return void res.end();

    const cut = options.cutAfterBytes?.(path, req);
    const toSend = cut === undefined ? length : Math.max(0, Math.min(cut, length));
    const count = (n: number) => {
      log.bytes += n;
      served.set(path, (served.get(path) ?? 0) + n);
    };
    if (toSend === 0) return void res.destroy();
    const stream = createReadStream(file, { start, end: start + toSend - 1 });
    stream.on('data', (chunk) => count(chunk.length));
    stream.on('error', () => res.destroy());
    // A cut response is flushed, then the socket is destroyed: the client sees a connection dropped mid-body.
    stream.on('end', () => (toSend < length ? res.write('', () => res.destroy()) : res.end()));
    stream.pipe(res, { end: false });
  };

  const server = createHttpServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.statusCode = 500;
      res.end(String(e));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (relativePath) => `${origin}/${relativePath.split('/').map(encodeURIComponent).join('/')}`,
    bytesServed: (path) => served.get(path.startsWith('/') ? path : `/${path}`) ?? 0,
    totalBytesServed: () => [...served.values()].reduce((a, b) => a + b, 0),
    requests,
    resetCounters() {
      served.clear();
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
