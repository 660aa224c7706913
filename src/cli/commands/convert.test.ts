/** `convert` end to end: a package whose manifest matches its files, bit-identical when run twice. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenPath, needsGolden } from '../../testing/golden.ts';
import { parseManifest } from '../../models/model-package.ts';
import { command } from './convert.ts';

async function convert(to: string, precision: string) {
  await command.run([
    '--from', goldenPath('stage_c_weights.safetensors'), '--config', `stage_c=${goldenPath('stage_c_config.json')}`,
    '--from', goldenPath('stage_a_weights.safetensors'), '--config', `stage_a=${goldenPath('stage_a_config.json')}`,
    '--from', goldenPath('clip', 'text_encoder_weights.safetensors'), '--config', `clip_text=${goldenPath('clip', 'text_encoder_config.json')}`,
    '--tokenizer', goldenPath('clip'), '--to', to, '--precision', precision,
  ]);
  return parseManifest(await readFile(join(to, 'manifest.json'), 'utf8'), to);
}

describe('convert', () => {
  const golden = needsGolden(
    'stage_c_weights.safetensors', 'stage_c_config.json', 'stage_a_weights.safetensors', 'stage_a_config.json',
    'clip/text_encoder_weights.safetensors', 'clip/text_encoder_config.json', 'clip/vocab.json', 'clip/merges.txt',
  );
  it('writes a package whose manifest lists every file with its sha256, deterministically', golden, async () => {
    const a = await mkdtemp(join(tmpdir(), 'pkg-a-'));
    const b = await mkdtemp(join(tmpdir(), 'pkg-b-'));
    const m = await convert(a, 'int8');
    await convert(b, 'int8');
    expect(Object.keys(m.components).sort()).toEqual(['clip_text', 'stage_a', 'stage_c']);
    expect(m.components.stage_c!.conditioning).toBeDefined();
    expect(m.components.stage_c!.totalParameters).toBe(268_448);
    expect(m.components.stage_c!.weightBytes.uint8).toBeGreaterThan(0);
    const listed = Object.values(m.components).flatMap((c) => [c!.graph, ...c!.chunks, ...(c!.conditioning ? [c!.conditioning.graph, ...c!.conditioning.chunks] : [])]);
    for (const f of [...listed, ...(m.tokenizer ?? [])]) {
      const bytes = await readFile(join(a, f.path));
      expect(bytes.length).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect(bytes.equals(await readFile(join(b, f.path)))).toBe(true);
    }
    const files = (await readdir(a, { recursive: true })).filter((f) => !f.endsWith('tokenizer'));
    expect(files.sort()).toEqual(['manifest.json', ...listed.map((f) => f.path), ...(m.tokenizer ?? []).map((f) => f.path)].sort());
  });
});
