/** Node-only: a file on disk as a ByteSource (kept apart so the browser bundle never imports node:fs). */
import { open, stat } from 'node:fs/promises';
import type { ByteSource } from './byte-source.ts';

export function fileSource(path: string): ByteSource {
  return {
    name: path,
    size: async () => (await stat(path)).size,
    read: async (offset, length) => {
      const handle = await open(path, 'r');
      try {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) throw new RangeError(`${path}: read of ${length} bytes at ${offset} is past the end`);
          done += bytesRead;
        }
        return out;
      } finally {
        await handle.close();
      }
    },
  };
}
