/** Node-only: a model package directory on disk. */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PackageReader } from './package-reader.ts';

export function directoryPackageReader(dir: string): PackageReader {
  const root = resolve(dir);
  return {
    description: root,
    file: async (path) => new Uint8Array(await readFile(join(root, path))),
    text: async (path) => readFile(join(root, path), 'utf8'),
  };
}
