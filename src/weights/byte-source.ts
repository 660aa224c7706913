/**
 * A random-access byte source: the one abstraction safetensors reading needs, so the same reader works on a
 * Node file, a Blob/File, or an HTTP URL with Range requests, and never holds a whole multi-GB file in memory.
 */
export interface ByteSource {
  /** Shown in error messages: a path, a file name or a URL. */
  readonly name: string;
  size(): Promise<number>;
  /** Exactly `length` bytes from `offset`; rejects if the source is shorter. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Bytes already in memory (tests, small files, freshly built packages). */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: async () => bytes.byteLength,
    read: async (offset, length) => {
      if (offset < 0 || offset + length > bytes.byteLength) {
        throw new RangeError(`${name}: read of ${length} bytes at ${offset} is past the end (${bytes.byteLength} bytes)`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A Blob or File: slices are read on demand, so a picked multi-GB file is never loaded whole. */
export function blobSource(blob: Blob, name = (blob as File).name ?? 'blob'): ByteSource {
  return {
    name,
    size: async () => blob.size,
    read: async (offset, length) => {
      if (offset < 0 || offset + length > blob.size) {
        throw new RangeError(`${name}: read of ${length} bytes at ${offset} is past the end (${blob.size} bytes)`);
      }
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

export interface HttpSourceOptions {
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/**
 * An HTTP(S) URL read with Range requests. The size comes from a `bytes=0-0` probe (Content-Range), which also
 * follows the hub's redirect to its CDN; a server that ignores Range (200 instead of 206) is an error rather
 * than a silent full download.
 */
export function httpSource(url: string, options: HttpSourceOptions = {}): ByteSource {
  const doFetch = options.fetch ?? fetch;
  let sizePromise: Promise<number> | undefined;
  const get = async (start: number, endInclusive: number): Promise<Response> => {
    const res = await doFetch(url, { headers: { ...options.headers, Range: `bytes=${start}-${endInclusive}` } });
    if (res.status !== 206) {
      throw new Error(`${url}: expected 206 Partial Content for a Range request, got ${res.status} ${res.statusText}`);
    }
    return res;
  };
  return {
    name: url,
    size: () =>
      (sizePromise ??= get(0, 0).then(async (res) => {
        const total = /\/(\d+)\s*$/.exec(res.headers.get('Content-Range') ?? '')?.[1];
        await res.arrayBuffer();
        if (!total) throw new Error(`${url}: the server sent no Content-Range total, so the file size is unknown`);
        return Number(total);
      })),
    read: async (offset, length) => {
      if (length === 0) return new Uint8Array(0);
      const res = await get(offset, offset + length - 1);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength !== length) {
        throw new Error(`${url}: asked for ${length} bytes at ${offset}, received ${bytes.byteLength}`);
      }
      return bytes;
    },
  };
}
