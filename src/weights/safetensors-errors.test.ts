/** Corrupt or truncated checkpoints give one clear error naming the file and the problem. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobSource, bytesSource, httpSource } from './byte-source.ts';
import { fileSource } from './node-file-source.ts';
import { SafetensorsError, SafetensorsFile } from './safetensors.ts';
import { encodeSafetensors } from './safetensors-writer.ts';

/** A file with a hand-written header (8-byte length + JSON + data). */
function raw(header: unknown, dataBytes: number, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? json.length), true);
  out.set(json, 8);
  return out;
}

const open = (bytes: Uint8Array) => SafetensorsFile.open(bytesSource('model.safetensors', bytes));

describe('safetensors errors', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than the length field', new Uint8Array(5), /model\.safetensors: file is 5 bytes, too short/],
    ['a header length past the end', raw({}, 0, 1000), /header length 1000 runs past the end of the file/],
    ['a header that is not JSON', raw('{"a": [1, 2', 0), /header is not valid JSON/],
    ['a header that is not an object', raw('[1,2]', 0), /header is not a JSON object/],
    ['an unknown dtype', raw({ w: { dtype: 'F8_E4M3X', shape: [1], data_offsets: [0, 1] } }, 1), /tensor "w" has unknown dtype "F8_E4M3X"/],
    ['offsets past the data section', raw({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /data_offsets \[0, 16\] are outside the data section \(8 bytes\)/],
    ['offsets that do not fit the shape', raw({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /has 8 bytes but shape \[3\] of F32 needs 12/],
    ['overlapping tensors', raw({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /tensors "a" and "b" overlap/],
    ['a negative shape', raw({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, 0), /invalid shape \[-1\]/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`rejects ${what}`, async () => {
      const err = await open(bytes).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message).toMatch(message);
      expect((err as SafetensorsError).file).toBe('model.safetensors');
    });
  }

  it('converts BF16 and F16 on read', async () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc040]) }, // 1, -3
      h: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3800, 0x7c00]) }, // 0.5, +Inf
    });
    const f = await open(bytes);
    expect([...(await f.readFloat32('b'))]).toEqual([1, -3]);
    expect([...(await f.readFloat32('h'))]).toEqual([0.5, Infinity]);
  });
});

describe('byte sources read only what is asked', () => {
  const bytes = encodeSafetensors({
    big: { dtype: 'F32', shape: [4096], data: Float32Array.from({ length: 4096 }, (_, i) => i) },
    small: { dtype: 'F32', shape: [3], data: new Float32Array([7, 8, 9]) },
  });
  let server: Server;
  let url = '';
  let served = 0;
  const ranges: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
      if (!m) {
        res.writeHead(200, { 'Content-Length': bytes.length });
        res.end(bytes);
        return;
      }
      ranges.push(req.headers.range!);
      const [start, end] = [Number(m[1]), Math.min(Number(m[2]), bytes.length - 1)];
      served += end - start + 1;
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': end - start + 1 });
      res.end(bytes.subarray(start, end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.safetensors`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('HTTP: header and one tensor with Range requests, never the whole file', async () => {
    const f = await SafetensorsFile.open(httpSource(url));
    expect([...(await f.readFloat32('small'))]).toEqual([7, 8, 9]);
    expect(served).toBeLessThan(bytes.length / 4);
    expect(ranges.length).toBeGreaterThanOrEqual(3);
  });

  it('HTTP: a server that ignores Range is an error, not a silent full download', async () => {
    const src = httpSource(url, { fetch: (input, init) => fetch(input, { ...init, headers: {} }) });
    await expect(SafetensorsFile.open(src)).rejects.toThrow(/expected 206 Partial Content/);
  });

  it('Blob and Node file sources give the same tensors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-'));
    await writeFile(join(dir, 'm.safetensors'), bytes);
    for (const src of [blobSource(new Blob([bytes as Uint8Array<ArrayBuffer>]), 'm.safetensors'), fileSource(join(dir, 'm.safetensors'))]) {
      const f = await SafetensorsFile.open(src);
      expect((await f.readFloat32('big'))[4095]).toBe(4095);
    }
  });
});
