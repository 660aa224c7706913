/**
 * Export an installed package as one .tar (see tar.ts for why tar): `<folder>/manifest.json` first, then
 * `descriptor.json` (so an import restores name and defaults), then every file the manifest lists. The Blob is
 * assembled from the stored Blob parts; saving it (an <a download> link or showSaveFilePicker) streams from
 * IndexedDB's files.
 */
import { MANIFEST_FILE } from '../models/model-package.ts';
import { getModel, manifestFiles, readPackageFile } from './package-store.ts';
import { tarBlob } from './tar.ts';

export const DESCRIPTOR_FILE = 'descriptor.json';

/** A file name for the export: the model id with characters that file systems dislike replaced. */
export function exportName(modelId: string): string {
  return modelId.replace(/[^A-Za-z0-9._-]+/g, '-');
}

export async function exportPackage(modelId: string): Promise<Blob> {
  const model = await getModel(modelId);
  if (!model) throw new Error(`${modelId} is not installed`);
  const folder = exportName(modelId);
  const entries: { path: string; data: Blob }[] = [];
  const manifest = await readPackageFile(modelId, MANIFEST_FILE);
  if (!manifest) throw new Error(`${modelId}: the stored package has no manifest`);
  entries.push({ path: `${folder}/${MANIFEST_FILE}`, data: manifest });
  entries.push({ path: `${folder}/${DESCRIPTOR_FILE}`, data: new Blob([JSON.stringify(model.descriptor, null, 2)], { type: 'application/json' }) });
  for (const f of manifestFiles(model.manifest)) {
    const data = await readPackageFile(modelId, f.path);
    if (!data) throw new Error(`${modelId}: the stored package has no ${f.path} (re-verify or reinstall the model)`);
    entries.push({ path: `${folder}/${f.path}`, data });
  }
  return tarBlob(entries);
}
