import { describe, expect, it } from 'vitest';
import { StoredReadStalledError, watchBlob, type BlobReadWatch } from './watched-blob.ts';

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);

/** How onnxruntime-web's JSPI build reads an initializer: slice, stream, BYOB reader if offered, else default. */
async function readLikeOrt(blob: Blob, offset: number, length: number): Promise<Uint8Array> {
  const stream = blob.slice(offset, offset + length).stream();
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    stream.getReader({ mode: 'byob' });
    throw new Error('a watched stream must not offer a BYOB reader (onnxruntime would take it)');
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('a watched')) throw e;
    reader = stream.getReader();
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    out.set(r.value, at);
    at += r.value.byteLength;
  }
  expect(at).toBe(length);
  return out;
}

/**
 * A Blob whose first `stalls` streams deliver `before` bytes and then never another: the failure mode seen
 * with IndexedDB-backed Blobs at full size, made reproducible.
 */
class StallingBlob extends Blob {
  constructor(parts: BlobPart[], readonly state: { stalls: number; opened: number; before: number }) {
    super(parts);
  }

  override slice(start?: number, end?: number): Blob {
    return new StallingBlob([super.slice(start, end)], this.state);
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.state.opened++;
    if (this.state.opened > this.state.stalls) return super.stream();
    const head = super.slice(0, this.state.before);
    let sent = false;
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      async pull(controller) {
        if (sent) return new Promise<void>(() => undefined);
        sent = true;
        controller.enqueue(new Uint8Array(await head.arrayBuffer()));
      },
    });
  }
}

const watch = (over: Partial<BlobReadWatch> = {}): BlobReadWatch & { bytes: number; stalls: number[] } => {
  const w = {
    stallMs: 50,
    reopenLimit: 2,
    bytes: 0,
    stalls: [] as number[],
    onBytes(n: number) {
      w.bytes += n;
    },
    onStall(s: { offset: number }) {
      w.stalls.push(s.offset);
    },
    ...over,
  };
  return w;
};

describe('watchBlob', () => {
  it('has the source size and bytes, whole and sliced, and counts what it delivers', async () => {
    const data = bytes(300_000);
    const w = watch();
    const blob = watchBlob(new Blob([data]), w);
    expect(blob).toBeInstanceOf(Blob);
    expect(blob.size).toBe(data.byteLength);
    expect(await readLikeOrt(blob, 1234, 200_000)).toEqual(data.subarray(1234, 201_234));
    expect(w.bytes).toBe(200_000);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(data);
    expect(w.stalls).toEqual([]);
  });

  it('reopens a stalled read where it stopped and delivers the same bytes', async () => {
    const data = bytes(100_000);
    const state = { stalls: 2, opened: 0, before: 4096 };
    const w = watch();
    const got = await readLikeOrt(watchBlob(new StallingBlob([data], state), w), 10, 90_000);
    expect(got).toEqual(data.subarray(10, 90_010));
    expect(state.opened).toBe(3);
    expect(w.stalls).toEqual([4096, 8192]);
    expect(w.bytes).toBe(90_000);
  });

  it('fails with StoredReadStalledError once the reopenings are used up, saying where', async () => {
    const data = bytes(50_000);
    const state = { stalls: 10, opened: 0, before: 1000 };
    const given: StoredReadStalledError[] = [];
    const blob = watchBlob(new StallingBlob([data], state), watch({ reopenLimit: 1, onGiveUp: (e) => given.push(e) }));
    const err = await readLikeOrt(blob, 0, 50_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoredReadStalledError);
    expect(given).toEqual([err]);
    expect((err as StoredReadStalledError).offset).toBe(2000);
    expect((err as StoredReadStalledError).attempts).toBe(2);
    expect((err as Error).message).toMatch(/byte 2000 of a 50000-byte slice.*reload the page/);
    expect(state.opened).toBe(2);
  });
});
