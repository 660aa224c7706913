/**
 * Vite build plugin: the offline service worker and the static-hosting headers file.
 *
 * After the client bundle and the public/ copy are written, it lists every file in the build's outDir (index.html,
 * assets/*.js|css, the generator worker bundle, the onnxruntime-web .wasm, models/tiny-demo/**), hashes each
 * (sha256, size) and writes:
 * - `sw.js`: src/offline/sw.ts transpiled to a classic script, preceded by the precache manifest
 *   (`self.__SOTE_PRECACHE__ = {...}`). The cache version is a hash over all entries, so any change to any file
 *   gives a new cache and the old one is removed on activate.
 * - `_headers` (Netlify / Cloudflare Pages format): COOP/COEP/CORP on every path, so dist/ on a static host is
 *   cross-origin isolated (WASM threads) even before the service worker takes over; `sw.js` is never
 *   HTTP-cached; hashed assets are immutable. Other hosts need the same headers in their own config.
 *
 * Build only (`apply: 'build'`): the dev server never gets a service worker. It also defines
 * `import.meta.env.SOTE_SERVICE_WORKER` (the worker's file name) in the build, which tells register.ts to register.
 *
 * Why hand-written and not vite-plugin-pwa/workbox: the one thing the worker must do on every response is add the
 * isolation headers, plus answer Range from the cache and verify each file's hash — each a workbox plugin hook
 * anyway — while vite-plugin-pwa would add workbox-build's large dependency tree for a ~200-line worker.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformWithOxc, type Plugin, type ResolvedConfig } from 'vite';

export interface OfflinePluginOptions {
  /** Headers every response must carry (the same ones vite.config.ts gives the dev and preview servers). */
  headers: Record<string, string>;
  /** Output file name of the worker, relative to outDir. Default 'sw.js'. */
  fileName?: string;
}

export interface PrecacheEntry {
  url: string;
  sha256: string;
  size: number;
}

const SW_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'sw.ts');

/** Files in outDir that are not precached: the worker itself, host config, source maps, dotfiles. */
export function isPrecached(relPath: string, swFileName = 'sw.js'): boolean {
  const name = relPath.split('/').pop() ?? '';
  return relPath !== swFileName && relPath !== '_headers' && relPath !== '_redirects' && !name.endsWith('.map') && !name.startsWith('.');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** The precache list for a built outDir; `base` is Vite's base ('/' by default). */
export async function precacheEntries(outDir: string, base: string, swFileName = 'sw.js'): Promise<PrecacheEntry[]> {
  const entries: PrecacheEntry[] = [];
  for (const file of (await listFiles(outDir)).sort()) {
    const rel = relative(outDir, file).split(sep).join('/');
    if (!isPrecached(rel, swFileName)) continue;
    const bytes = await readFile(file);
    entries.push({ url: base + rel.split('/').map(encodeURIComponent).join('/'), sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
  }
  return entries;
}

export function headersFile(headers: Record<string, string>, base: string, swFileName: string): string {
  const lines = [
    '# Response headers for static hosting of this build (Netlify / Cloudflare Pages `_headers` format).',
    '# COOP + COEP make the page cross-origin isolated, which onnxruntime-web needs for multi-threaded WASM',
    '# (SharedArrayBuffer). The service worker adds the same headers to what it serves from its cache offline.',
    '# Other hosts (nginx, S3/CloudFront, GitHub Pages cannot) need these headers configured their own way.',
    `${base}*`,
    ...Object.entries({ 'Cross-Origin-Resource-Policy': 'same-origin', ...headers }).map(([k, v]) => `  ${k}: ${v}`),
    `${base}${swFileName}`,
    '  Cache-Control: no-cache',
    `${base}assets/*`,
    '  Cache-Control: public, max-age=31536000, immutable',
  ];
  return lines.join('\n') + '\n';
}

export async function serviceWorkerScript(entries: PrecacheEntry[], base: string, headers: Record<string, string>): Promise<string> {
  const source = await readFile(SW_SOURCE, 'utf8');
  const { code } = await transformWithOxc(source, SW_SOURCE, { lang: 'ts', target: 'es2022' });
  // sw.ts is a module only for type checking; a classic service worker cannot contain `export`.
  const script = code.replace(/^export\s*\{\s*\};?\s*$/m, '');
  if (/^\s*(import|export)\b/m.test(script)) throw new Error('src/offline/sw.ts must not import or export anything (it is not bundled)');
  const version = createHash('sha256').update(entries.map((e) => `${e.url} ${e.sha256}`).join('\n')).digest('hex').slice(0, 16);
  const manifest = {
    version,
    navigationFallback: `${base}index.html`,
    headers: { 'Cross-Origin-Resource-Policy': 'same-origin', ...headers },
    entries,
  };
  return `self.__SOTE_PRECACHE__ = ${JSON.stringify(manifest)};\n${script}`;
}

export function offlineServiceWorker(options: OfflinePluginOptions): Plugin {
  const fileName = options.fileName ?? 'sw.js';
  let config: ResolvedConfig;
  return {
    name: 'sote:offline-service-worker',
    apply: 'build',
    // register.ts keys on this, not on import.meta.env.PROD: a build started from vitest runs with NODE_ENV=test,
    // which makes PROD false, yet it must register the worker it ships.
    config: () => ({ define: { 'import.meta.env.SOTE_SERVICE_WORKER': JSON.stringify(fileName) } }),
    configResolved(resolved) {
      config = resolved;
    },
    async writeBundle() {
      if (this.environment && this.environment.config.consumer !== 'client') return;
      const outDir = resolve(config.root, config.build.outDir);
      const base = config.base.endsWith('/') ? config.base : `${config.base}/`;
      const entries = await precacheEntries(outDir, base, fileName);
      await writeFile(join(outDir, fileName), await serviceWorkerScript(entries, base, options.headers));
      await writeFile(join(outDir, '_headers'), headersFile(options.headers, base, fileName));
      const mib = entries.reduce((a, e) => a + e.size, 0) / 2 ** 20;
      config.logger.info(`offline: ${fileName} precaches ${entries.length} files (${mib.toFixed(1)} MiB); _headers written`);
    },
  };
}
