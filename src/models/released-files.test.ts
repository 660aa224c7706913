/**
 * The full-size fixture (scripts/fixture-full.ts): the released files' specs at full size (parameter counts,
 * file sizes within 1 % of the hub's), and a real write of the 'small' variant (same files, dtypes and layout
 * at the demo configs): header and dtypes, finite values with the rule's spread, determinism per seed, a
 * descriptor the store accepts. The 12 GB write itself is the scale benchmark's business (npm run scale).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_REPO, FIXTURE_REVISION, writeFixture } from '../../scripts/fixture-full.ts';
import { parseDescriptor } from '../store/descriptor.ts';
import { fileSource } from '../weights/node-file-source.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';
import { safetensorsLayout } from '../weights/safetensors-writer.ts';
import { fixtureInit, RELEASED_SHOWN_BYTES, releasedFileSpecs, specParameterCount, tensorValues } from './released-files.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('released file specs at full size', () => {
  const specs = releasedFileSpecs('full');
  const expected = { stage_c: 3_589_103_632, stage_b: 1_562_941_136, clip_text: 694_659_840, stage_a: 18_406_903 };

  it('hold the released parameter counts and dtypes', () => {
    for (const s of specs) expect([s.kind, specParameterCount(s)]).toEqual([s.kind, expected[s.kind]]);
    const dtypes = Object.fromEntries(specs.map((s) => [s.kind, [...new Set(s.tensors.map((t) => t.dtype))].sort().join('+')]));
    expect(dtypes).toEqual({ stage_c: 'BF16', stage_b: 'BF16', clip_text: 'F16', stage_a: 'F32+I64' });
  });

  it('give file sizes within 1 % of the hub (7.18 GB / 3.13 GB / 1.39 GB / 73.6 MB)', () => {
    for (const s of specs) {
      const size = safetensorsLayout(s.tensors, s.metadata).size;
      console.log(`${s.path}: ${size.toLocaleString('en-US')} bytes (hub shows ${RELEASED_SHOWN_BYTES[s.kind] / 1e9} GB)`);
      expect(Math.abs(size / RELEASED_SHOWN_BYTES[s.kind] - 1)).toBeLessThan(0.01);
    }
  });

  it('the rule keeps official zero-init layers small, not zero', () => {
    const c = specs.find((s) => s.kind === 'stage_c')!;
    const k = c.model.kind === 'stage_c' ? c.model.config.kwargs : undefined;
    expect(fixtureInit('clf.1.weight', [64, 2048, 1, 1], k).std).toBeCloseTo(0.1 / Math.sqrt(2048), 8);
    expect(fixtureInit('down_blocks.0.0.channelwise.4.weight', [2048, 8192], k).std).toBeCloseTo(Math.sqrt(1 / 32) / Math.sqrt(8192), 8);
    expect(fixtureInit('down_blocks.0.1.mapper_sca.weight', [4096, 64], k).std).toBeCloseTo(0.1 / 8, 8);
    expect(fixtureInit('text_model.final_layer_norm.weight', [1280])).toEqual({ mean: 1, std: 0.1 });
  });

  it('value streams are deterministic, chunk-independent and have the rule\'s mean and spread', () => {
    const whole = new Float32Array(100_000);
    tensorValues(7, 'a.weight', { mean: 1, std: 0.5 })(whole);
    const chunked = new Float32Array(100_000);
    const fill = tensorValues(7, 'a.weight', { mean: 1, std: 0.5 });
    fill(chunked.subarray(0, 33_333));
    fill(chunked.subarray(33_333));
    expect(chunked).toEqual(whole);
    const mean = whole.reduce((a, v) => a + v, 0) / whole.length;
    const std = Math.sqrt(whole.reduce((a, v) => a + (v - mean) ** 2, 0) / whole.length);
    expect(mean).toBeCloseTo(1, 2);
    expect(std).toBeCloseTo(0.5, 2);
    const other = new Float32Array(16);
    tensorValues(8, 'a.weight', { mean: 1, std: 0.5 })(other);
    expect(other).not.toEqual(whole.subarray(0, 16));
  });
});

describe('fixture:full --scale small (written to disk)', () => {
  const write = async (seed: number) => {
    const dir = await mkdtemp(join(tmpdir(), 'sote-fixture-'));
    dirs.push(dir);
    return { dir, summary: await writeFixture({ to: dir, seed, scale: 'small' }) };
  };

  it('writes the released layout, deterministic per seed, with a descriptor the store accepts', async () => {
    const a = await write(3);
    const b = await write(3);
    const c = await write(4);
    const hashes = (s: typeof a.summary) => s.files.map((f) => `${f.repo}/${f.path} ${f.sha256}`);
    expect(hashes(b.summary)).toEqual(hashes(a.summary));
    const weights = (s: typeof a.summary) => s.files.filter((f) => f.path.endsWith('.safetensors')).map((f) => f.sha256);
    for (const [x, y] of weights(a.summary).map((h, i) => [h, weights(c.summary)[i]])) expect(x).not.toBe(y);

    const resolveDir = join(a.dir, 'hub', FIXTURE_REPO, 'resolve', FIXTURE_REVISION);
    const stageC = await SafetensorsFile.open(fileSource(join(resolveDir, 'sotediffusion-v2-stage_c.safetensors')));
    expect(new Set([...stageC.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['BF16']));
    const w = await stageC.readFloat32('down_blocks.0.0.channelwise.0.weight');
    expect(w.every(Number.isFinite)).toBe(true);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    const fanIn = stageC.tensors.get('down_blocks.0.0.channelwise.0.weight')!.shape[1];
    expect(std).toBeGreaterThan(0.9 / Math.sqrt(fanIn));
    expect(std).toBeLessThan(1.1 / Math.sqrt(fanIn));

    const stageA = await SafetensorsFile.open(fileSource(join(resolveDir, 'stage_a_ft_hq.safetensors')));
    expect(stageA.tensors.has('vquantizer.codebook.weight')).toBe(true);
    expect(stageA.tensors.get('down_blocks.3.1.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
    const clip = await SafetensorsFile.open(fileSource(join(resolveDir, 'sotediffusion-v2-stage_c_text_encoder.safetensors')));
    expect(new Set([...clip.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F16']));

    const descriptor = parseDescriptor(JSON.parse(await readFile(join(a.dir, 'descriptor.json'), 'utf8')));
    expect(descriptor.source.kind).toBe('checkpoints');
    const tree = JSON.parse(await readFile(join(a.dir, 'hub/api/models', FIXTURE_REPO, 'tree', FIXTURE_REVISION), 'utf8')) as { path: string; lfs?: { oid: string } }[];
    const stageCFile = a.summary.files.find((f) => f.path === 'sotediffusion-v2-stage_c.safetensors')!;
    expect(tree.find((e) => e.path === stageCFile.path)?.lfs?.oid).toBe(stageCFile.sha256);
  });
});
