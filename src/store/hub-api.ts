/**
 * What the hub says about a file before we trust its bytes:
 * - the LFS sha256 in `X-Linked-Etag` (Hugging Face sets it on the resolve response of LFS/Xet files), or an
 *   `ETag` that is 64 hex digits. In a browser these are readable only when there was no cross-origin
 *   redirect and the server exposes them via CORS — often not the case on huggingface.co (the 302 to the CDN
 *   carries them; fetch shows only the CDN response, docs/sotediffusion-v2-files §6.2);
 * - otherwise the tree API, `GET <hub>/api/models/<repo>/tree/<revision>?recursive=true`, whose entries carry
 *   `lfs.oid` (sha256) for LFS files and `oid` (the git blob sha1) for plain git files (§6.3).
 */
import type { HubRepo } from './descriptor.ts';
import type { ExpectedDigest } from './idb.ts';

const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;

/** sha256 from a resolve response's headers, if it carries one. */
export function digestFromHeaders(headers: Headers): ExpectedDigest | undefined {
  const clean = (v: string | null) => (v ?? '').trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  const linked = clean(headers.get('X-Linked-Etag'));
  if (HEX64.test(linked)) return { algorithm: 'sha256', hex: linked, from: 'X-Linked-Etag' };
  const etag = clean(headers.get('ETag'));
  if (HEX64.test(etag)) return { algorithm: 'sha256', hex: etag, from: 'ETag' };
  return undefined;
}

interface TreeEntry {
  type?: string;
  path?: string;
  oid?: string;
  size?: number;
  lfs?: { oid?: string; size?: number };
}

export interface HubFileInfo {
  size?: number;
  expected?: ExpectedDigest;
}

/**
 * Lists the repo at the revision (following `Link: rel="next"` pages) and returns size + digest per path.
 * Returns an empty map when the hub has no such API (a plain static mirror): callers then need descriptor
 * hashes.
 */
export async function hubTree(source: HubRepo, headersFor: (url: string) => Record<string, string>, fetchImpl: typeof fetch = fetch, signal?: AbortSignal): Promise<Map<string, HubFileInfo>> {
  const out = new Map<string, HubFileInfo>();
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  let url: string | undefined = `${source.hub}/api/models/${enc(source.repo)}/tree/${encodeURIComponent(source.revision)}?recursive=true&expand=false`;
  for (let page = 0; url && page < 100; page++) {
    let res: Response;
    try {
      res = await fetchImpl(url, { headers: headersFor(url), signal, credentials: 'omit' });
    } catch {
      return out;
    }
    if (!res.ok) return out;
    let entries: unknown;
    try {
      entries = await res.json();
    } catch {
      return out;
    }
    if (!Array.isArray(entries)) return out;
    for (const e of entries as TreeEntry[]) {
      if (e?.type !== 'file' || typeof e.path !== 'string') continue;
      const lfsOid = e.lfs?.oid?.toLowerCase();
      const oid = e.oid?.toLowerCase();
      const info: HubFileInfo = {};
      const size = e.lfs?.size ?? e.size;
      if (typeof size === 'number') info.size = size;
      if (lfsOid && HEX64.test(lfsOid)) info.expected = { algorithm: 'sha256', hex: lfsOid, from: 'hub tree API (lfs.oid)' };
      else if (!e.lfs && oid && HEX40.test(oid)) info.expected = { algorithm: 'git-sha1', hex: oid, from: 'hub tree API (git blob id)' };
      out.set(e.path, info);
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('Link') ?? '')?.[1];
    url = next ? new URL(next, url).href : undefined;
  }
  return out;
}
