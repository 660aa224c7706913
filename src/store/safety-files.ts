/**
 * Serving an installed model's safety checker to transformers.js from IndexedDB.
 *
 * The checker's files live in the package under `safety/` (install.ts converts them there): config.json,
 * preprocessor_config.json, onnx/model.onnx and its external data onnx/model.onnx_data[_N] (config.json's
 * transformers.js_config says how many). transformers.js fetches model files by URL through `env.fetch`,
 * so the generator worker gives SafetyChecker (safety/safety-checker.ts) a `fetch` made here, together with
 *   modelBase = `${origin}/sote-store/<encoded store id>/`  and  modelId = 'safety'
 * — an absolute http(s) base on the worker's own origin, which transformers.js treats as a remote host (the
 * long comment at the top of safety-checker.ts says why a URL must be the remote host, not localModelPath).
 * Nothing is requested from the network: every URL under that base is answered from the store, every other
 * URL with 404.
 *
 * What transformers.js 4.3.1 sends (dist/transformers.web.js `fetch_file_head` / `getFile`):
 * - existence/size probes: GET with `Range: bytes=0-0` → 206 with `Content-Range: bytes 0-0/<size>` (a file
 *   that exists), 404 for files that are not stored (tokenizer_config.json, processor_config.json, quantized
 *   onnx variants …: they are optional and a 404 means "absent"; any other failure would be fatal);
 * - the file itself: GET without Range → 200 with Content-Length (transformers.js requires exactly 200).
 * Ranges are answered as RFC 9110 says (`a-b`, `a-`, `-n`; 416 with `bytes *\/<size>` when unsatisfiable);
 * HEAD gets the headers only; other methods 405.
 *
 * transformers.js memoizes probe results per (modelId, file), not per host; the probed files (config.json,
 * preprocessor_config.json, onnx/model.onnx, optional ones) are the same in every installed checker, so the
 * shared name 'safety' gives every model the right answers.
 */
import { SAFETY_CHECKER_DIR } from '../models/model-package.ts';
import { readPackageFile } from './package-store.ts';

/** transformers.js model id of an installed model's checker (the package folder `safety/`). */
export const SAFETY_MODEL_ID = SAFETY_CHECKER_DIR.replace(/\/$/, '');

/** The URL prefix under which a store model's files are served to transformers.js (ends with "/"). */
export function storeModelBase(origin: string, modelId: string): string {
  return `${origin.replace(/\/+$/, '')}/sote-store/${encodeURIComponent(modelId)}/`;
}

/** Reads a package file by its package path; undefined when it is not stored. */
export type PackageFileSource = (path: string) => Promise<Blob | undefined>;

const CONTENT_TYPES: Record<string, string> = { json: 'application/json', onnx: 'application/octet-stream' };

function contentType(path: string): string {
  return CONTENT_TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

/** Parses a single `bytes=` range against `size`; 'unsatisfiable', or undefined for none / unsupported forms. */
export function parseByteRange(header: string | null, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // multi-range or malformed: the whole file (allowed)
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/**
 * A `fetch` that answers `<base><file>` with the package file `<dir><file>` (read through `read`), and 404
 * for everything else. `onServe` sees every answer (path relative to `base`, status, body bytes).
 */
export function packageFilesFetch(
  base: string,
  dir: string,
  read: PackageFileSource,
  onServe?: (path: string, status: number, bytes: number) => void,
): typeof fetch {
  const basePath = new URL(base);
  return async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(request?.headers);
    new Headers(init?.headers).forEach((v, k) => headers.set(k, v));
    const answer = (status: number, body: Blob | null, extra: Record<string, string>, rel: string): Response => {
      onServe?.(rel, status, body?.size ?? 0);
      return new Response(method === 'HEAD' ? null : body, { status, headers: extra });
    };
    let rel = '';
    if (url.origin === basePath.origin && url.pathname.startsWith(basePath.pathname)) {
      try {
        rel = decodeURIComponent(url.pathname.slice(basePath.pathname.length));
      } catch {
        rel = '';
      }
    }
    if (!rel || rel.split('/').some((s) => s === '' || s === '.' || s === '..')) return answer(404, null, {}, rel || url.href);
    if (method !== 'GET' && method !== 'HEAD') return answer(405, null, { Allow: 'GET, HEAD' }, rel);
    const blob = await read(`${dir}${rel}`);
    if (!blob) return answer(404, null, {}, rel);
    const size = blob.size;
    const type = contentType(rel);
    const range = parseByteRange(headers.get('Range'), size);
    if (range === 'unsatisfiable') return answer(416, null, { 'Content-Range': `bytes */${size}` }, rel);
    if (range) {
      const body = blob.slice(range.start, range.end + 1);
      return answer(206, body, {
        'Content-Type': type,
        'Content-Length': String(body.size),
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
        'Accept-Ranges': 'bytes',
      }, rel);
    }
    return answer(200, blob, { 'Content-Type': type, 'Content-Length': String(size), 'Accept-Ranges': 'bytes' }, rel);
  };
}

/**
 * The `fetch` for an installed model's safety checker: `${storeModelBase(origin, modelId)}safety/<file>` is
 * served from the package's `safety/<file>` in IndexedDB, anything else (other package files included) is a
 * 404. Use with modelBase = storeModelBase(origin, modelId) and modelId = SAFETY_MODEL_ID.
 */
export function storeSafetyCheckerFetch(origin: string, modelId: string, onServe?: (path: string, status: number, bytes: number) => void): typeof fetch {
  const base = `${storeModelBase(origin, modelId)}${SAFETY_CHECKER_DIR}`;
  return packageFilesFetch(base, SAFETY_CHECKER_DIR, (path) => readPackageFile(modelId, path), onServe);
}
