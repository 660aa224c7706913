/**
 * `import { sote } from '…/client'` — the hosted client's surface on the user's own GPU (docs/api-contract.md).
 * Moving from the hosted client: `import { fal } from '@fal-ai/client'` → `import { fal } from '…/client'`.
 *
 * Everything here comes from modules of src/client (the dependency check allows this file nothing else): callers
 * name the client's types (LoadRequest, ModelDescriptor, WorkerEvent…) and never import a lower layer.
 */
export {
  createFalClient, createSoteClient, defaultSoteClient, ENDPOINT_MODELS, endpointModelSource, fal, installSote, KNOWN_ENDPOINTS, sote, SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT,
} from './sote.ts';
export type { EndpointId, RequestOptions, SoteClient, SoteClientOptions, SoteConfig, SoteQueue, StatusOptions, SubscribeOptions, SubscribeToStatusOptions } from './sote.ts';
export type * from './client-types.ts';
export { SoteStream, type SoteStreamEventType } from './fal-stream.ts';
export { ApiError, RealtimeUnavailableError, RequestNotFoundError, StartTimeoutError, UnknownEndpointError, ValidationError, type ApiErrorArgs, type ValidationIssue } from './api-errors.ts';
export {
  ENDPOINT_INPUT_DEFAULTS, IMAGE_SIZE_PRESETS, inputSchema, inputSchemaFor, parseInput, stableCascadeInputSchema, type EndpointInputDefaults, type ImageSizePreset, type SoteInput, type SoteInputParams,
} from './input-schema.ts';
export {
  FIRST_STAGE_SAMPLERS, SCHEDULERS, SECOND_STAGE_SAMPLERS, SOTE_V2_RECOMMENDED, type FirstStageSampler, type SamplerSettings, type Scheduler, type SecondStageSampler,
} from './sampler-options.ts';
export type * from './queue-types.ts';
export { CREDENTIAL_ORIGINS, demoModelSource, GeneratorRunner, installedModelSource, type InstalledModelSourceOptions, type ModelSource, type ModelSourceContext, type WorkerFactory } from './generator-runner.ts';
export {
  DescriptorError, DownloadError, fetchDescriptor, IntegrityError, SOTEDIFFUSION_V2, STABLE_CASCADE, STABLE_CASCADE_LITE, StorageQuotaError, tinyDemoDescriptor, type ModelDescriptor,
} from './model-catalogue.ts';
export { indexedDbRequestStore, type RequestStore } from './request-store.ts';
export { DeviceLostError, GenerationCancelledError, ModelLoadError, SafetyCheckerUnavailableError, SoteError, StoredReadStalledError, WebGPUUnavailableError, type ErrorDetail } from './errors.ts';
export type { GeneratorClient, LoadOptions, LoadRequest, Residency, WorkerEvent } from './protocol.ts';
