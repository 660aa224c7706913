/**
 * The split build (conditioning graph once per generation + step graph) computes what the full graph does, and
 * together they need exactly the full checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { createNodeRunner } from '../engine/node-runner.ts';
import { f32Tensor, type HostTensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { parseStageBConfig, parseStageCConfig, STAGE_B_PRESETS, STAGE_C_PRESETS } from './cascade-config.ts';
import { checkpointSource } from './checkpoint-source.ts';
import { compileInMemory } from './compile.ts';
import { buildStageB } from './stage-b.ts';
import { buildStageC } from './stage-c.ts';

describe('split conditioning', () => {
  for (const stage of ['c', 'b'] as const) {
    const golden = needsGolden('stage_c_config.json', 'stage_b_config.json', `stage_${stage}_weights.safetensors`, `stage_${stage}_forward.safetensors`);
    it(`Stage ${stage.toUpperCase()}: conditioning + step = full forward (golden)`, golden, async () => {
      const configC = parseStageCConfig(await readGoldenJson('stage_c_config.json'));
      const configB = parseStageBConfig(await readGoldenJson('stage_b_config.json'));
      const build = (part: 'full' | 'step' | 'conditioning') => (stage === 'c' ? buildStageC(configC, { part }) : buildStageB(configB, { part }));
      const weights = checkpointSource([await openGolden(`stage_${stage}_weights.safetensors`)], stage === 'c' ? 'stage_c' : 'stage_b');
      const io = await openGolden(`stage_${stage}_forward.safetensors`);
      const prefix = stage === 'c' ? '' : 'misaligned.';
      const read = async (n: string) => f32Tensor(await io.readFloat32(prefix + n), [...io.info(prefix + n).shape]);
      const condNames = stage === 'c' ? ['clip_text', 'clip_text_pooled'] : ['clip'];
      const stepNames = stage === 'c' ? ['x', 'r'] : ['x', 'r', 'effnet'];
      const condFeeds: Record<string, HostTensor> = {};
      for (const n of condNames) condFeeds[n] = await read(n);
      const stepFeeds: Record<string, HostTensor> = {};
      for (const n of stepNames) stepFeeds[n] = await read(n);

      const full = await createNodeRunner(await compileInMemory(build('full'), weights), 'node');
      const cond = await createNodeRunner(await compileInMemory(build('conditioning'), weights), 'node');
      const step = await createNodeRunner(await compileInMemory(build('step'), weights), 'node');
      const kv = await cond.run(condFeeds);
      expect(Object.keys(kv).every((n) => n.startsWith('kv.'))).toBe(true);
      const a = (await full.run({ ...condFeeds, ...stepFeeds })).output.data as Float32Array;
      const b = (await step.run({ ...stepFeeds, ...kv })).output.data as Float32Array;
      const rel = relMaxDiff(b, a);
      console.log(`stage ${stage}: split vs full ${rel.toExponential(1)}, ${Object.keys(kv).length} kv tensors`);
      expect(rel).toBeLessThanOrEqual(1e-6);
      for (const r of [full, cond, step]) await r.release();
    });
  }

  it('the two parts of the released models take every parameter exactly once', () => {
    const builds = [
      (part: 'full' | 'step' | 'conditioning') => buildStageC(STAGE_C_PRESETS.big, { part }),
      (part: 'full' | 'step' | 'conditioning') => buildStageB(STAGE_B_PRESETS.big, { part }),
    ];
    for (const build of builds) {
      const [full, cond, step] = [build('full'), build('conditioning'), build('step')];
      const condNames = new Set(cond.expected.keys());
      const overlap = [...step.expected.keys()].filter((n) => condNames.has(n));
      expect(overlap).toEqual([]);
      expect(cond.parameterCount() + step.parameterCount()).toBe(full.parameterCount());
      console.log(`${full.g.name}: step ${step.parameterCount().toLocaleString('en-US')} + conditioning ${cond.parameterCount().toLocaleString('en-US')} parameters`);
    }
  });
});
