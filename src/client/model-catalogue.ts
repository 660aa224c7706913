/**
 * What the page needs to know about models before the worker has them: the built-in catalogue, a `?model=` /
 * `?hub=` choice, descriptors and their store ids, and the store's named errors. The page reaches the store only
 * through this module; loading it also registers the store's error classes, so they keep their class across
 * Comlink on the page side.
 */
export { fetchDescriptor, hubFromUrl, modelFromUrl, SOTEDIFFUSION_V2, STABLE_CASCADE, STABLE_CASCADE_LITE, tinyDemoDescriptor, type ModelChoice } from '../store/catalogue.ts';
export { withHub, type ModelDescriptor } from '../store/descriptor.ts';
export { DescriptorError, DownloadError, IntegrityError, StorageQuotaError } from '../store/errors.ts';
export { modelIdFor } from '../store/model-id.ts';
