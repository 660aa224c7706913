/**
 * The model store half of the generator worker (ModelStoreApi in src/client/protocol.ts): wires src/store to the
 * protocol, turning store records into the shapes the page sees. Runs in the worker because downloads, hashing and
 * conversion are heavy; its calls are not serialized with generation (they touch only IndexedDB records under their
 * own model id), except deleteModel of the loaded model, which `releaseIfLoaded` handles.
 */
import type { InstalledModelInfo, ModelStoreApi } from '../src/client/protocol.ts';
import { deviceMemoryGiB, recommend } from '../src/engine/placement.ts';
import { chooseBackend } from '../src/engine/webgpu-adapter.ts';
import { fetchDescriptor } from '../src/store/catalogue.ts';
import type { ModelDescriptor } from '../src/store/descriptor.ts';
import { exportPackage } from '../src/store/export.ts';
import type { InstalledModel } from '../src/store/idb.ts';
import { importFiles } from '../src/store/import.ts';
import { installModel } from '../src/store/install.ts';
import { collectGarbage, deleteModel, listInstallRecords, listModels, verifyModel } from '../src/store/package-store.ts';
import { StoreCalls } from '../src/store/store-calls.ts';

function modelInfo(m: InstalledModel): InstalledModelInfo {
  return { id: m.id, descriptorId: m.descriptorId, name: m.name, precision: m.precision, bytes: m.bytes, installedAt: m.installedAt, defaults: m.descriptor.defaults, hasSafetyChecker: m.manifest.safetyChecker !== undefined };
}

/** The placement rules (src/engine/placement.ts) for a descriptor on this device's 'auto' backend. */
async function recommendHere(descriptor: ModelDescriptor | undefined) {
  return recommend(await chooseBackend('auto'), descriptor?.sizes, deviceMemoryGiB());
}

/** @param releaseIfLoaded releases the loaded pipeline when it is this model's (before its files go) */
export function modelStoreApi(releaseIfLoaded: (modelId: string) => Promise<void>): ModelStoreApi {
  // Package files left by a crash halfway through a delete (package-store.ts: the record goes first, so such
  // files are never listed). Once per worker start, before any install can begin writing; failures only log.
  const garbageCollected = collectGarbage().catch((e: unknown) => {
    console.warn(`collectGarbage failed: ${e instanceof Error ? e.message : String(e)}`);
    return 0;
  });
  const calls = new StoreCalls();
  return {
    install: (source, options = {}, onEvent) => calls.install(async (signal) => {
      await garbageCollected;
      const descriptor = 'kind' in source ? (source.kind === 'built-in' ? source.descriptor : await fetchDescriptor(source.url, source.hub)) : source;
      const model = await installModel(descriptor, {
        precision: options.precision ?? (await recommendHere(descriptor)).precision,
        ...(options.token ? { token: options.token } : {}),
        signal,
        // Forwarded as-is; a listener on a page that went away must not fail the install.
        onEvent: (e) => { if (onEvent) Promise.resolve(onEvent(e)).catch(() => undefined); },
      });
      return modelInfo(model);
    }),

    // Not serialized with anything: it must reach the running install.
    cancelInstall: async () => calls.cancelInstall(),

    listModels: async () => (await listModels()).map(modelInfo),

    listPendingInstalls: async () => (await listInstallRecords()).map((r) =>
      ({ modelId: r.modelId, name: r.descriptor.name, precision: r.precision, startedAt: r.startedAt, descriptor: r.descriptor })),

    deleteModel: async (id) => {
      // Sessions were created from copies of the Blobs, but a loaded model must not outlive its listing.
      await releaseIfLoaded(id);
      await deleteModel(id);
    },

    verifyModel: (id) => calls.run(async () => {
      const report = await verifyModel(id);
      return { files: report.files, bytes: report.bytes, problems: report.problems.map((p) => ({ file: p.file, expected: p.expected, actual: p.actual, message: p.message })) };
    }),

    importFiles: (files, options = {}) => calls.run(async () => {
      await garbageCollected;
      return modelInfo(await importFiles(files, options.precision ? { precision: options.precision } : {}));
    }),

    exportModel: (id) => calls.run(() => exportPackage(id)),

    storeBusy: async () => calls.busy,

    recommend: recommendHere,
  };
}
