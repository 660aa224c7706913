/**
 * The few named errors a generation can end with, each with a fixed `name` and a message that ends in what to
 * do about it (`remedy`). The page maps them to UI states by class (or by `name` where classes are unavailable,
 * e.g. in the queue API's JSON).
 *
 * Crossing the worker boundary: Comlink 4.4 turns a thrown Error into {name, message, stack} and rethrows a plain
 * Error, so class identity and extra fields would be lost. `registerErrorTransfer()` replaces Comlink's "throw"
 * transfer handler with one that rebuilds these classes (same prototype, name, message, stack, remedy, detail)
 * and delegates everything else to the original handler. It must be called on both sides (the worker and the
 * page); it is idempotent.
 */
import * as Comlink from 'comlink';

/** Structured, cloneable extra facts an error carries (URLs, reasons); shown in logs, never parsed from text. */
export type ErrorDetail = Readonly<Record<string, string | number | boolean>>;

export abstract class SoteError extends Error {
  abstract override readonly name: string;
  /** What the user (or the calling code) can do about it; also the last sentence of `message`. */
  readonly remedy: string;
  readonly detail: ErrorDetail;

  protected constructor(problem: string, remedy: string, detail: ErrorDetail = {}, options?: { cause?: unknown }) {
    super(`${problem} — ${remedy}`, options);
    this.remedy = remedy;
    this.detail = detail;
  }
}

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

/**
 * Every class the transfer handler can rebuild, by `name`. Layers below the client (the model store) define
 * their own SoteErrors and add them with registerErrorClasses, so this module does not import them.
 */
const ERROR_CLASSES = new Map<string, { prototype: SoteError }>([
  ['WebGPUUnavailableError', WebGPUUnavailableError],
  ['SafetyCheckerUnavailableError', SafetyCheckerUnavailableError],
  ['ModelLoadError', ModelLoadError],
  ['ModelNotLoadedError', ModelNotLoadedError],
  ['GenerationCancelledError', GenerationCancelledError],
  ['DeviceLostError', DeviceLostError],
]);

/**
 * Makes these classes survive the worker boundary (call at load of the module that defines them). Keyed by the
 * errors' `name` written out, not by the constructor's name, which minification changes.
 */
export function registerErrorClasses(classes: Record<string, { prototype: SoteError }>): void {
  for (const [name, cls] of Object.entries(classes)) ERROR_CLASSES.set(name, cls);
}

/** The wire form of a SoteError (structured-cloneable). */
interface SerializedSoteError {
  soteError: true;
  name: string;
  message: string;
  stack: string | undefined;
  remedy: string;
  detail: ErrorDetail;
}

/** What Comlink's "throw" handler is given: the thrown value wrapped in an object carrying Comlink's marker. */
type ThrownWrapper = { value: unknown };
type ThrowHandler = Comlink.TransferHandler<ThrownWrapper, unknown>;

function isSerialized(v: unknown): v is SerializedSoteError {
  return typeof v === 'object' && v !== null && (v as { soteError?: unknown }).soteError === true;
}

/** Rebuilds a SoteError without calling its constructor (whose arguments are not on the wire). */
export function reviveSoteError(s: SerializedSoteError): Error {
  const cls = ERROR_CLASSES.get(s.name);
  if (!cls) return Object.assign(new Error(s.message), { name: s.name, stack: s.stack });
  const e = Object.create(cls.prototype) as SoteError;
  const define = (key: string, value: unknown) => Object.defineProperty(e, key, { value, writable: true, configurable: true, enumerable: false });
  define('name', s.name);
  define('message', s.message);
  define('stack', s.stack);
  define('remedy', s.remedy);
  define('detail', s.detail);
  return e;
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
      if (v instanceof SoteError && ERROR_CLASSES.has(v.name)) {
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
