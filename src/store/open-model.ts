/**
 * Opening the model a load request names: a package URL (read over HTTP) or an installed model's store id
 * (read from IndexedDB without copying its Blobs), with what the loader needs to know about it — its size when
 * known before its manifest (for the residency rule, src/engine/placement.ts) and the safety checker installed
 * with it.
 */
import { urlPackageReader, type PackageReader } from '../pipeline/package-reader.ts';
import { getModel, idbPackageReader } from './package-store.ts';
import { SAFETY_MODEL_ID, storeModelBase, storeSafetyCheckerFetch } from './safety-files.ts';

/** Exactly one of a package URL (resolved against the page) or an installed model's store id. */
export type PackageRef =
  | { modelUrl: string; modelId?: undefined }
  | { modelId: string; modelUrl?: undefined };

/**
 * An installed model's own safety checker (manifest `safetyChecker`, stored under safety/), served from
 * IndexedDB to transformers.js under a URL of the page's own origin (safety-files.ts): the fields of
 * SafetyCheckerOptions that say where it is.
 */
export interface StoredSafetyChecker {
  modelBase: string;
  modelId: string;
  /** The hub repo it came from (`repo@revision`), for logs and events. */
  displayName: string;
  fetch: typeof fetch;
}

export interface OpenedModel {
  reader: PackageReader;
  /** Bytes of the whole package; undefined for a URL package (known only after its manifest). */
  packageBytes?: number;
  checker?: StoredSafetyChecker;
}

/** The URL a package is loaded from, as events and errors name it: absolute, or `indexeddb:<store id>`. */
export function packageUrl(ref: PackageRef, pageUrl: string): string {
  return ref.modelId !== undefined ? `indexeddb:${ref.modelId}` : new URL(ref.modelUrl, pageUrl).href;
}

/**
 * Opens the package `ref` names; undefined when its store id is not installed. Nothing is read from a URL
 * package yet (the pipeline reads its manifest).
 * @param pageUrl the worker's location: base of relative package URLs, origin of the store-served checker
 * @param onCheckerFile told of every checker file served from the store (a DEBUG log line)
 */
export async function openModel(ref: PackageRef, pageUrl: string, onCheckerFile?: (message: string) => void): Promise<OpenedModel | undefined> {
  if (ref.modelId === undefined) return { reader: urlPackageReader(packageUrl(ref, pageUrl)) };
  const modelId = ref.modelId;
  const installed = await getModel(modelId);
  if (!installed) return undefined;
  const sc = installed.manifest.safetyChecker;
  const opened: OpenedModel = { reader: idbPackageReader(modelId), packageBytes: installed.bytes };
  if (sc) {
    const origin = new URL(pageUrl).origin;
    const source = `${sc.modelId}${sc.revision ? `@${sc.revision}` : ''}`;
    opened.checker = {
      modelBase: storeModelBase(origin, modelId),
      modelId: SAFETY_MODEL_ID,
      displayName: source,
      fetch: storeSafetyCheckerFetch(origin, modelId, (path, status, bytes) =>
        onCheckerFile?.(`safety checker (${source}): ${path} → ${status} from the model store (${bytes} B)`)),
    };
  }
  return opened;
}
