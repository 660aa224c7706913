import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResumableHash, sha256OfBlob } from './hashing.ts';
import { planSlices } from './slices.ts';

describe('resumable hashing', () => {
  const data = randomBytes(1_000_003);
  const slices = planSlices(data.length, 65_536);

  it('saved state, restored in a new hasher (as after a reload), gives the one-shot sha256', async () => {
    const first = await ResumableHash.start('sha256', data.length);
    for (const s of slices.slice(0, 7)) first.update(data.subarray(s.start, s.end));
    // What IndexedDB keeps: a structured clone of the saved state.
    const saved = structuredClone(first.save());
    expect(saved).toMatchObject({ algorithm: 'sha256', slices: 7, hashedBytes: 7 * 65_536 });
    const resumed = await ResumableHash.resume(saved);
    for (const s of slices.slice(7)) resumed.update(data.subarray(s.start, s.end));
    expect(resumed.hashedBytes).toBe(data.length);
    expect(resumed.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('git-sha1 is the git blob id (sha1 of "blob <size>\\0" + content)', async () => {
    const text = Buffer.from('{"<|startoftext|>": 49406}\n');
    const h = await ResumableHash.start('git-sha1', text.length);
    h.update(text);
    const expected = createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${text.length}\0`), text])).digest('hex');
    expect(h.digest()).toBe(expected);
  });

  it('a different byte gives a different digest', async () => {
    const bad = Buffer.from(data);
    bad[123_456] ^= 1;
    const h = await ResumableHash.start('sha256', bad.length);
    h.update(bad);
    expect(h.digest()).not.toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('sha256OfBlob reads a Blob piece by piece into the one-shot sha256', async () => {
    const big = randomBytes(16 * 2 ** 20 + 5); // one full 16 MiB piece and a tail
    expect(await sha256OfBlob(new Blob([big]))).toBe(createHash('sha256').update(big).digest('hex'));
    expect(await sha256OfBlob(new Blob([]))).toBe(createHash('sha256').digest('hex'));
  });
});
