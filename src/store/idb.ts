/**
 * The IndexedDB layout of the model store (idb-keyval custom stores; one database per store because
 * idb-keyval creates exactly one object store per database).
 *
 * | database / store         | key                      | value                          |
 * |--------------------------|--------------------------|--------------------------------|
 * | sote-slices / slices     | [fileKey, sliceIndex]    | Blob (one downloaded slice)    |
 * | sote-downloads / state   | fileKey                  | DownloadRecord                 |
 * | sote-package / files     | [modelId, path, part]    | Blob (≤ 64 MiB part of a file) |
 * | sote-installs / state    | modelId                  | InstallRecord (in progress)    |
 * | sote-models / models     | modelId                  | InstalledModel (manifest …)    |
 *
 * Invariants:
 * - a slice Blob exists ⇔ that slice was received in full (it is written in one put after its length was
 *   checked), so the set of stored slice keys *is* the download progress;
 * - a `sote-models` record is written only after every package file of the model (the committed-record
 *   pattern, manifest last): a model is listed ⇔ it is complete. Package files of a model id without a models
 *   record belong to an install in progress (sote-installs) or are garbage (`collectGarbage` removes them).
 *
 * Array keys sort element-wise, and an array sorts after every string and number, so [id] … [id, []] bounds
 * exactly the keys that start with id.
 */
import { createStore, type UseStore } from 'idb-keyval';
import type { ModelKind } from '../models/checkpoint-source.ts';
import type { ComponentManifest, PackageFile, PackageManifest, SafetyCheckerManifest } from '../models/model-package.ts';
import type { Precision } from '../models/model-context.ts';
import type { SavedHash } from './hashing.ts';
import type { ModelDescriptor } from './descriptor.ts';

export interface StoreHandles {
  slices: UseStore;
  downloads: UseStore;
  files: UseStore;
  installs: UseStore;
  models: UseStore;
}

let handles: StoreHandles | undefined;

/** Opened on first use (importing this module in Node touches no IndexedDB). */
export function stores(): StoreHandles {
  return (handles ??= {
    slices: createStore('sote-slices', 'slices'),
    downloads: createStore('sote-downloads', 'state'),
    files: createStore('sote-package', 'files'),
    installs: createStore('sote-installs', 'state'),
    models: createStore('sote-models', 'models'),
  });
}

export interface ExpectedDigest {
  algorithm: 'sha256' | 'git-sha1';
  hex: string;
  /** Where the value came from (descriptor, X-Linked-Etag, tree API …). */
  from: string;
}

/** Progress of one file download that is not in the slice keys themselves. */
export interface DownloadRecord {
  url: string;
  size: number;
  sliceBytes: number;
  expected?: ExpectedDigest;
  /** Hasher state at the frontier (see hashing.ts). */
  hash?: SavedHash;
  /** The whole file was hashed and matched `expected`. */
  verified: boolean;
}

export interface InstallRecord {
  modelId: string;
  descriptor: ModelDescriptor;
  precision: Precision;
  /** Components whose package files are complete (raw slices may already be gone). */
  converted: Partial<Record<ModelKind, ComponentManifest>>;
  tokenizer: PackageFile[];
  /** The converted safety checker, once its files are in the package (a resume skips it). */
  safetyChecker?: SafetyCheckerManifest;
  startedAt: number;
}

export interface InstalledModel {
  id: string;
  descriptorId: string;
  name: string;
  precision: Precision;
  /** Bytes of the package (sum of its files). */
  bytes: number;
  manifest: PackageManifest;
  descriptor: ModelDescriptor;
  installedAt: number;
}

export function prefixRange(prefix: IDBValidKey[]): IDBKeyRange {
  return IDBKeyRange.bound(prefix, [...prefix, []]);
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
}

export function keysWithPrefix(store: UseStore, prefix: IDBValidKey[]): Promise<IDBValidKey[]> {
  return store('readonly', (s) => request(s.getAllKeys(prefixRange(prefix))));
}

export function deleteWithPrefix(store: UseStore, prefix: IDBValidKey[]): Promise<void> {
  return store('readwrite', (s) => request(s.delete(prefixRange(prefix)))).then(() => undefined);
}

