/**
 * The few named errors a generation can end with, each with a fixed `name` and a message that ends in what to
 * do about it (`remedy`). The page maps them to UI states by class (or by `name` where classes are unavailable,
 * e.g. in the queue API's JSON).
 *
 * Crossing the worker boundary: Comlink 4.4 turns a thrown Error into {name, message, stack} and rethrows a plain
 * Error, so class identity and extra fields would be lost. `registerErrorTransfer()` replaces Comlink's "throw"
 * transfer handler with one that rebuilds every registered SoteError class (these, the store's, any layer's:
 * the registry is core/sote-error.ts) with the same prototype, name, message, stack, remedy and detail, and
 * delegates everything else to the original handler. It must be called on both sides (the worker and the
 * page); it is idempotent.
 */
import * as Comlink from 'comlink';
import { isRegisteredErrorName, registerErrorClasses, reviveSoteError, SoteError, type SerializedSoteError } from '../core/sote-error.ts';

export { SoteError, type ErrorDetail } from '../core/sote-error.ts';
// Thrown by a model load whose stored data stopped arriving (src/engine/watched-blob.ts); importing it here
// registers it on the page too, so it arrives from the worker as itself.
export { StoredReadStalledError } from '../engine/watched-blob.ts';

/** navigator.gpu is missing or gives no adapter, and WebGPU was required. */
export class WebGPUUnavailableError extends SoteError {
  override readonly name = 'WebGPUUnavailableError';
  constructor(reason: string) {
    super(`WebGPU is not available: ${reason}`,
      'use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) or choose the WASM backend (slower, runs on the CPU)',
      { reason });
  }
}

/** The model package could not be read or compiled (network, HTTP status, bad manifest, session creation). */
export class ModelLoadError extends SoteError {
  override readonly name = 'ModelLoadError';
  constructor(url: string, reason: string, options?: { cause?: unknown }) {
    super(`could not load the model package at ${url}: ${reason}`,
      'check the network and the model URL, clear the cached model and retry, or pick a smaller model', { url, reason }, options);
  }
}

/** generate() was called before a model was loaded (or after release()). */
export class ModelNotLoadedError extends SoteError {
  override readonly name = 'ModelNotLoadedError';
  constructor() {
    super('no model is loaded in the generator worker', 'call load() with a model package URL first');
  }
}

/** cancel() stopped the generation (between network calls: a running kernel is never interrupted). */
export class GenerationCancelledError extends SoteError {
  override readonly name = 'GenerationCancelledError';
  constructor() {
    super('the generation was cancelled', 'start a new generation when ready; the loaded model stays usable');
  }
}

/** The GPU device was lost (driver reset, tab in background too long, out of memory); its buffers are gone. */
export class DeviceLostError extends SoteError {
  override readonly name = 'DeviceLostError';
  constructor(reason: string) {
    super(`the WebGPU device was lost: ${reason}`,
      'the page starts a new worker with a new device and retries once by itself; if it keeps happening close other GPU-heavy tabs, lower the resolution, or use the WASM backend',
      { reason });
  }
}

/** Safety checking was requested but the loaded model has no safety checker (or it failed to load). */
export class SafetyCheckerUnavailableError extends SoteError {
  override readonly name = 'SafetyCheckerUnavailableError';
  constructor(reason: string) {
    super(`the safety checker is not available: ${reason}`,
      'install the model together with its safety checker, or generate with enable_safety_checker: false',
      { reason });
  }
}

registerErrorClasses({
  WebGPUUnavailableError,
  SafetyCheckerUnavailableError,
  ModelLoadError,
  ModelNotLoadedError,
  GenerationCancelledError,
  DeviceLostError,
});

/** What Comlink's "throw" handler is given: the thrown value wrapped in an object carrying Comlink's marker. */
type ThrownWrapper = { value: unknown };
type ThrowHandler = Comlink.TransferHandler<ThrownWrapper, unknown>;

function isSerialized(v: unknown): v is SerializedSoteError {
  return typeof v === 'object' && v !== null && (v as { soteError?: unknown }).soteError === true;
}

let registered = false;

/** Installs the SoteError-preserving "throw" handler (call once per realm; later calls do nothing). */
export function registerErrorTransfer(): void {
  if (registered) return;
  const original = Comlink.transferHandlers.get('throw') as ThrowHandler | undefined;
  if (!original) throw new Error('comlink has no "throw" transfer handler (unsupported comlink version)');
  const handler: ThrowHandler = {
    canHandle: original.canHandle,
    serialize(wrapper) {
      const v = wrapper.value;
      if (v instanceof SoteError && isRegisteredErrorName(v.name)) {
        const wire: SerializedSoteError = { soteError: true, name: v.name, message: v.message, stack: v.stack, remedy: v.remedy, detail: v.detail };
        return [wire, []];
      }
      return original.serialize(wrapper);
    },
    deserialize(serialized) {
      if (isSerialized(serialized)) throw reviveSoteError(serialized);
      return original.deserialize(serialized);
    },
  };
  // Map.set on an existing key keeps its position, so this still runs before any user handler.
  Comlink.transferHandlers.set('throw', handler as Comlink.TransferHandler<unknown, unknown>);
  registered = true;
}
