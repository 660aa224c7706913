/**
 * Resumable file hashing. Slices arrive out of order (parallel fetches) but a hash is sequential, so the
 * hasher advances a *frontier*: it consumes slice i only when slices 0…i−1 were consumed, and after each step
 * its internal state (hash-wasm `save()`) is persisted with the frontier. A resumed download `load()`s that
 * state and continues at the frontier: bytes already hashed are never read again.
 *
 * Invariant: `state` is the hasher state after exactly the bytes [0, hashedBytes) of the file.
 *
 * The store's one SHA-256 path: downloads (through the frontier), stored tokenizer files, imports and re-verify
 * (`sha256OfBlob`) all hash with this class.
 */
import { createSHA1, createSHA256, type IHasher } from 'hash-wasm';

export type HashAlgorithm = 'sha256' | 'git-sha1';

export interface SavedHash {
  algorithm: HashAlgorithm;
  /** Slices consumed (slice i is hashed only after 0…i−1). */
  slices: number;
  hashedBytes: number;
  state: Uint8Array;
}

export class ResumableHash {
  private constructor(private readonly hasher: IHasher, readonly algorithm: HashAlgorithm, public slices: number, public hashedBytes: number) {}

  /**
   * A fresh hasher. 'git-sha1' hashes `blob <size>\0` then the content: the git blob id the hub's tree API
   * reports for small (non-LFS) files, so those can be verified too.
   */
  static async start(algorithm: HashAlgorithm, fileSize: number): Promise<ResumableHash> {
    const hasher = algorithm === 'sha256' ? await createSHA256() : await createSHA1();
    hasher.init();
    if (algorithm === 'git-sha1') hasher.update(new TextEncoder().encode(`blob ${fileSize}\0`));
    return new ResumableHash(hasher, algorithm, 0, 0);
  }

  static async resume(saved: SavedHash): Promise<ResumableHash> {
    const hasher = saved.algorithm === 'sha256' ? await createSHA256() : await createSHA1();
    hasher.init();
    hasher.load(saved.state);
    return new ResumableHash(hasher, saved.algorithm, saved.slices, saved.hashedBytes);
  }

  /** Consumes the next slice (the caller guarantees order). */
  update(bytes: Uint8Array): void {
    this.hasher.update(bytes);
    this.slices++;
    this.hashedBytes += bytes.byteLength;
  }

  save(): SavedHash {
    return { algorithm: this.algorithm, slices: this.slices, hashedBytes: this.hashedBytes, state: this.hasher.save() };
  }

  /** Lower-case hex digest; the hasher cannot be used afterwards. */
  digest(): string {
    return this.hasher.digest('hex');
  }
}

/** Bytes read at a time by sha256OfBlob: a Blob of several GiB is never held in memory whole. */
const BLOB_READ_BYTES = 16 * 2 ** 20;

/** Lower-case hex sha256 of a Blob (a stored file, a picked File), read in 16 MiB pieces. */
export async function sha256OfBlob(blob: Blob): Promise<string> {
  const hash = await ResumableHash.start('sha256', blob.size);
  for (let at = 0; at < blob.size; at += BLOB_READ_BYTES) hash.update(new Uint8Array(await blob.slice(at, at + BLOB_READ_BYTES).arrayBuffer()));
  return hash.digest();
}
