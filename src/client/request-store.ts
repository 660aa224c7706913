/**
 * Where queue requests live between page loads: IndexedDB through idb-keyval custom stores (one database per
 * store, because idb-keyval creates exactly one object store per database).
 *
 * | database / store        | key        | value                                          |
 * |-------------------------|------------|------------------------------------------------|
 * | sote-requests / requests| request id | RequestRecord (input, state, logs, error)      |
 * | sote-results / results  | request id | StoredOutput (output with image PNG Blobs)     |
 *
 * Invariants:
 * - a result is written before its record says 'done' (committed-record pattern), so a 'done' record always
 *   has its result, whatever moment the page closed at;
 * - sync_mode requests are never written (the contract keeps them out of history);
 * - records are plain structured-cloneable data (no class instances): errors are stored as StoredError and
 *   rebuilt on read.
 */
import { createStore, del, get, set, values, type UseStore } from 'idb-keyval';
import { SoteError, type ErrorDetail } from './errors.ts';
import { reviveSoteError } from '../core/sote-error.ts';
import type { SoteInput } from './input-schema.ts';
import type { OutputTimings, RequestLog } from './queue-types.ts';

/** queued → running → done | failed (failed includes cancelled). A reload turns running back into queued. */
export type RequestState = 'queued' | 'running' | 'done' | 'failed';

export interface StoredError {
  name: string;
  message: string;
  /** Present for SoteErrors (./errors.ts), which are rebuilt with their class from these fields. */
  remedy?: string;
  detail?: ErrorDetail;
}

export interface RequestRecord {
  id: string;
  /** Submission order across reloads (strictly increasing). */
  seq: number;
  endpointId: string;
  /** Validated, defaulted input. */
  input: SoteInput;
  /** The seed this request uses: input.seed, or a random one fixed at submission (so a resumed run is the same image). */
  seed: number;
  webhookUrl?: string;
  /** The generation reports live Stage C previews (requests made by fal.stream). */
  previews?: boolean;
  /** 'low': later 'normal' requests start first (absent = normal). */
  priority?: 'low';
  state: RequestState;
  logs: RequestLog[];
  submittedAt: string;
  startedAt?: string;
  completedAt?: string;
  /** Seconds (timings.inference) once done. */
  inferenceTime?: number;
  error?: StoredError;
}

export interface StoredImage {
  blob: Blob;
  width: number;
  height: number;
  content_type: 'image/png';
}

export interface StoredOutput {
  images: StoredImage[];
  timings: OutputTimings;
  seed: number;
  has_nsfw_concepts: boolean[];
  prompt: string;
}

/** What the queue needs from persistence (an in-memory fake works for tests). */
export interface RequestStore {
  loadAll(): Promise<RequestRecord[]>;
  putRecord(record: RequestRecord): Promise<void>;
  putResult(id: string, output: StoredOutput): Promise<void>;
  getResult(id: string): Promise<StoredOutput | undefined>;
  remove(id: string): Promise<void>;
}

/** The IndexedDB store (databases opened on first use, never at import). */
export function indexedDbRequestStore(prefix = 'sote'): RequestStore {
  let stores: { requests: UseStore; results: UseStore } | undefined;
  const open = () => (stores ??= { requests: createStore(`${prefix}-requests`, 'requests'), results: createStore(`${prefix}-results`, 'results') });
  return {
    loadAll: () => values<RequestRecord>(open().requests),
    putRecord: (record) => set(record.id, record, open().requests),
    putResult: (id, output) => set(id, output, open().results),
    getResult: (id) => get<StoredOutput>(id, open().results),
    async remove(id) {
      await del(id, open().requests);
      await del(id, open().results);
    },
  };
}

/** An error as a record stores it (SoteErrors with remedy and detail, so they are rebuilt with their class). */
export function toStoredError(e: unknown): StoredError {
  if (e instanceof SoteError) return { name: e.name, message: e.message, remedy: e.remedy, detail: e.detail };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** The error a stored one stands for (SoteErrors keep their class). */
export function fromStoredError(s: StoredError): Error {
  if (s.remedy !== undefined) {
    return reviveSoteError({ soteError: true, name: s.name, message: s.message, stack: undefined, remedy: s.remedy, detail: s.detail ?? ({} as ErrorDetail) });
  }
  return Object.assign(new Error(s.message), { name: s.name });
}
