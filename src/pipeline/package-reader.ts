/**
 * Read access to a model package wherever it lives (a directory in Node, IndexedDB or HTTP in the browser,
 * memory in tests). File contents come back as bytes, a Blob or a URL — all three feed onnxruntime directly.
 */
import { MANIFEST_FILE, parseManifest, type PackageManifest } from '../models/model-package.ts';

export type PackageFileData = Uint8Array | Blob | string;

export interface PackageReader {
  readonly description: string;
  file(path: string): Promise<PackageFileData>;
  text(path: string): Promise<string>;
}

export async function readManifest(reader: PackageReader): Promise<PackageManifest> {
  return parseManifest(await reader.text(MANIFEST_FILE), reader.description);
}

/** A package held in memory (tests; packages built on the fly). */
export function memoryPackageReader(description: string, files: Map<string, Uint8Array>): PackageReader {
  const get = (path: string) => {
    const f = files.get(path);
    if (!f) throw new Error(`${description}: package has no file ${path}`);
    return f;
  };
  return {
    description,
    file: async (path) => get(path),
    text: async (path) => new TextDecoder().decode(get(path)),
  };
}

/** A package served over HTTP (a mirror, a local server, the demo model in public/). */
export function urlPackageReader(baseUrl: string, fetchImpl: typeof fetch = fetch): PackageReader {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    description: base,
    file: async (path) => new URL(path, base).href,
    text: async (path) => {
      const res = await fetchImpl(new URL(path, base).href);
      if (!res.ok) throw new Error(`${base}${path}: HTTP ${res.status}`);
      return res.text();
    },
  };
}
