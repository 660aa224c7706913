/**
 * Installing a converted package served over HTTP (the tiny demo, a hosted export): every file the manifest
 * lists is downloaded with the same resumable machinery as checkpoints, checked against the manifest's sha256,
 * and stored as it is; manifest.json last, then the listed record.
 */
import { isRetryableStatus } from '../core/retryable-status.ts';
import { MANIFEST_FILE, parseManifest } from '../models/model-package.ts';
import type { ModelDescriptor, PackageSource } from './descriptor.ts';
import { discardDownload, type FileJob } from './download.ts';
import { DownloadError } from './errors.ts';
import type { InstalledModel } from './idb.ts';
import { InstallSession, type InstallOptions } from './install-session.ts';
import { modelIdFor } from './model-id.ts';
import { getModel, idbPackageSink, manifestFiles, packageFileRole, writeBlobFile } from './package-store.ts';
import { quotaGuarded, quotaSink } from './quota.ts';

/** Installs (or resumes) the package `source` points at; an already installed package is returned at once. */
export async function installPackage(descriptor: ModelDescriptor, source: PackageSource, options: InstallOptions): Promise<InstalledModel> {
  const base = source.url;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const manifestUrl = new URL(MANIFEST_FILE, base).href;
  const res = await fetchImpl(manifestUrl, { credentials: 'omit', cache: 'no-store', signal: options.signal });
  if (!res.ok) throw new DownloadError(manifestUrl, `HTTP ${res.status}`, isRetryableStatus(res.status));
  const manifestText = await res.text();
  const manifest = parseManifest(manifestText, base);
  const modelId = modelIdFor(descriptor, manifest.precision);
  const existing = await getModel(modelId);
  if (existing) return existing;

  const jobs: FileJob[] = manifestFiles(manifest).map((f) => ({
    key: `${base}${f.path}@${f.sha256}`,
    url: new URL(f.path, base).href,
    path: f.path,
    role: packageFileRole(f.path),
    size: f.bytes,
    expected: { algorithm: 'sha256', hex: f.sha256, from: 'package manifest' },
  }));
  // Packages are public: no token, and the manifest gives every file's size and sha256.
  const session = new InstallSession(modelId, options, { tokenOrigin: 'null', lookupDigest: async () => ({}) });
  return session.run(jobs, async () => {
    await session.checkQuota(manifest.totalBytes * 2); // slices, then package files (slices are dropped as each file lands)
    await session.putRecord({ modelId, descriptor, precision: manifest.precision, converted: {}, tokenizer: [], startedAt: Date.now() });
    await Promise.all(jobs.map(async (job) => {
      const blob = await session.downloadFile(job);
      await quotaGuarded(() => writeBlobFile(modelId, job.path, blob));
      await discardDownload(job.key);
    }).map((p) => p.catch((e: unknown) => {
      session.fail(e);
      throw e;
    })));
    await quotaSink(idbPackageSink(modelId)).write(MANIFEST_FILE, new TextEncoder().encode(manifestText));
    return session.commit(descriptor, manifest);
  });
}
