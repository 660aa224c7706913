/**
 * The project's named-error base: a fixed `name`, a message that ends in what to do about it (`remedy`) and
 * structured `detail`. Every layer defines its own SoteErrors on this base (the store's in store/errors.ts,
 * generation errors in client/errors.ts), so it lives at the bottom and imports nothing.
 *
 * The registry maps a written-out `name` to its class so an error that lost its prototype (a Comlink message, a
 * stored queue record) can be rebuilt with `instanceof` intact: each module that defines SoteErrors registers them
 * when it loads (registerErrorClasses). The Comlink transfer handler that uses it is client/errors.ts'
 * registerErrorTransfer.
 */

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

/** Every class reviveSoteError can rebuild, by `name`. */
const ERROR_CLASSES = new Map<string, { prototype: SoteError }>();

/**
 * Makes these classes revivable (call at load of the module that defines them). Keyed by the errors' `name`
 * written out, not by the constructor's name, which minification changes.
 */
export function registerErrorClasses(classes: Record<string, { prototype: SoteError }>): void {
  for (const [name, cls] of Object.entries(classes)) ERROR_CLASSES.set(name, cls);
}

/** Whether a class with this `name` was registered (only those are sent in their wire form). */
export function isRegisteredErrorName(name: string): boolean {
  return ERROR_CLASSES.has(name);
}

/** The wire form of a SoteError (structured-cloneable). */
export interface SerializedSoteError {
  soteError: true;
  name: string;
  message: string;
  stack: string | undefined;
  remedy: string;
  detail: ErrorDetail;
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
