/**
 * The `sample` command in-process on the golden sampling files: its written trajectory (every step's
 * model_out, x0, x and final.sampled) must match the recorded one to 1e-4 relative to max-abs.
 * Stage B uses the recorded noise (--noise): seeding 1030 alone would redo Stage C's draws, because the
 * reference generator continues from Stage C into Stage B. Stage C is also run from --seed 1030 (its draws
 * come first in the reference stream).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { goldenPath, needsGolden, openGolden, relMaxDiff } from '../../testing/golden.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { SafetensorsFile } from '../../weights/safetensors.ts';
import { command } from './sample.ts';

const dir = await mkdtemp(join(tmpdir(), 'sote-sample-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Case {
  stage: 'c' | 'b';
  cfg: number;
  shift: number;
  noise: string[];
}

const CASES: Case[] = [
  { stage: 'c', cfg: 4, shift: 2, noise: ['--noise', goldenPath('sampling_stage_c.safetensors')] },
  { stage: 'c', cfg: 4, shift: 2, noise: ['--seed', '1030', '--shape', '2,16,3,4'] },
  { stage: 'b', cfg: 1.1, shift: 1, noise: ['--noise', goldenPath('sampling_stage_b.safetensors')] },
];

async function worstDiffs(outPath: string, refName: string): Promise<Record<string, number>> {
  const out = await SafetensorsFile.open(fileSource(outPath));
  const ref = await openGolden(refName);
  const worst: Record<string, number> = {};
  for (const name of out.tensors.keys()) {
    if (!ref.has(name)) continue;
    const key = name.replace(/^step\d+\./, '');
    worst[key] = Math.max(worst[key] ?? 0, relMaxDiff(await out.readFloat32(name), await ref.readFloat32(name)));
  }
  return worst;
}

describe('sample command vs golden trajectories', () => {
  for (const c of CASES) {
    const refName = `sampling_stage_${c.stage}.safetensors`;
    const golden = needsGolden(refName, `stage_${c.stage}_config.json`, `stage_${c.stage}_weights.safetensors`);
    it(`Stage ${c.stage.toUpperCase()} with ${c.noise[0]}`, golden, async () => {
      const outPath = join(dir, `stage_${c.stage}_${c.noise[0].slice(2)}.safetensors`);
      await command.run([
        '--config', goldenPath(`stage_${c.stage}_config.json`),
        '--weights', goldenPath(`stage_${c.stage}_weights.safetensors`),
        '--cond', goldenPath(refName),
        '--steps', '6', '--cfg', String(c.cfg), '--shift', String(c.shift),
        ...c.noise,
        '--out', outPath,
      ]);
      const worst = await worstDiffs(outPath, refName);
      console.log(`sample stage ${c.stage} ${c.noise[0]}: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
      // Every recorded kind is compared, for all 6 steps.
      expect(Object.keys(worst).sort()).toEqual(['final.sampled', 'model_out', 'model_r', 'x', 'x0']);
      for (const v of Object.values(worst)) expect(v).toBeLessThanOrEqual(1e-4);
    });
  }
});
