/**
 * Named errors of the model store. They extend the project's SoteError (src/core/sote-error.ts): a fixed `name`,
 * a message ending in what to do (`remedy`) and structured `detail` (numbers stay numbers, never parsed back
 * from text).
 *
 * Crossing the worker boundary: they are registered in core/sote-error.ts (bottom of this file), so
 * `instanceof` survives Comlink in every realm that loads this module.
 */
import { formatBytes } from '../core/format-bytes.ts';
import { registerErrorClasses, SoteError } from '../core/sote-error.ts';


/** A descriptor (JSON or URL parameter) is malformed; `path` points at the offending field. */
export class DescriptorError extends SoteError {
  override readonly name = 'DescriptorError';
  constructor(where: string, problems: string[]) {
    super(`${where}: invalid model descriptor: ${problems.join('; ')}`,
      'fix the descriptor (format documented in src/store/descriptor.ts) or open a built-in model', { where, problems: problems.join('; ') });
  }
}

/**
 * The origin has too little storage for an install. Thrown before anything is written when
 * `navigator.storage.estimate()` says so, and after a QuotaExceededError mid-way (everything the install
 * wrote is deleted first).
 */
export class StorageQuotaError extends SoteError {
  override readonly name = 'StorageQuotaError';
  constructor(readonly needed: number, readonly available: number, readonly usage: number, readonly quota: number, when: 'before' | 'during', options?: { cause?: unknown }) {
    super(
      when === 'before'
        ? `not enough browser storage: the install needs about ${formatBytes(needed)}, ${formatBytes(available)} is free (${formatBytes(usage)} of ${formatBytes(quota)} used)`
        : `browser storage ran out during the install (${formatBytes(usage)} of ${formatBytes(quota)} used, about ${formatBytes(needed)} needed); nothing was kept`,
      // The estimate can lag the writes that just failed (it may even show room): then ask for all it needs.
      `free at least ${formatBytes(needed > available ? needed - available : needed)}: delete installed models or other site data, leave private browsing, or free disk space (the browser sizes the quota from free disk), or choose a smaller precision`,
      { needed, available, usage, quota, when },
      options,
    );
  }
}

/** A downloaded or stored file does not match its expected sha256 (or git blob id); its bytes were deleted. */
export class IntegrityError extends SoteError {
  override readonly name = 'IntegrityError';
  constructor(readonly file: string, readonly expected: string, readonly actual: string, readonly algorithm: 'sha256' | 'git-sha1' | 'size') {
    super(`${file} failed verification: expected ${algorithm} ${expected}, got ${actual}`,
      'its data was deleted; retry the install (a corrupt mirror or proxy will fail again — check the hub URL and the descriptor hashes)',
      { file, expected, actual, algorithm });
  }
}

/**
 * A file could not be downloaded after the retries (network down, HTTP error, server without Range support).
 * Finished slices stay in IndexedDB: installing again resumes.
 */
export class DownloadError extends SoteError {
  override readonly name = 'DownloadError';
  constructor(readonly url: string, reason: string, readonly resumable: boolean, options?: { cause?: unknown }) {
    super(`could not download ${url}: ${reason}`,
      resumable
        ? 'check the network and install again: finished parts are kept and will not be downloaded twice'
        : 'check the hub URL, revision and access token in the settings',
      { url, reason, resumable }, options);
  }
}

registerErrorClasses({ DescriptorError, StorageQuotaError, IntegrityError, DownloadError });
