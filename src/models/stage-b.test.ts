import { describe, expect, it } from 'vitest';
import { createNodeRunner, type NodeBackend } from '../engine/node-runner.ts';
import { f32Tensor, type HostTensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { parseStageBConfig, STAGE_B_PRESETS } from './cascade-config.ts';
import { checkpointSource } from './checkpoint-source.ts';
import { compileInMemory } from './compile.ts';
import { buildStageB, erfPrecise } from './stage-b.ts';

async function goldenRunner(backend: NodeBackend, conditionInputs: boolean, fusedAttention = true) {
  const config = parseStageBConfig(await readGoldenJson('stage_b_config.json'));
  const weights = checkpointSource([await openGolden('stage_b_weights.safetensors')], 'stage_b');
  return createNodeRunner(await compileInMemory(buildStageB(config, { conditionInputs, fusedAttention }), weights), backend);
}

async function feeds(prefix: string, names: string[]): Promise<Record<string, HostTensor>> {
  const io = await openGolden('stage_b_forward.safetensors');
  const out: Record<string, HostTensor> = {};
  for (const n of names) out[n] = f32Tensor(await io.readFloat32(`${prefix}${n}`), [...io.info(`${prefix}${n}`).shape]);
  return out;
}

async function expected(name: string): Promise<Float32Array> {
  return (await openGolden('stage_b_forward.safetensors')).readFloat32(name);
}

const golden = needsGolden('stage_b_config.json', 'stage_b_weights.safetensors', 'stage_b_forward.safetensors');

describe('Stage B graph vs the official PyTorch forward', () => {
  for (const backend of ['node', 'wasm'] as const) {
    it(`aligned case (pixels and sca given) on ${backend}`, golden, async () => {
      const runner = await goldenRunner(backend, true);
      const out = await runner.run(await feeds('aligned.', ['x', 'r', 'effnet', 'clip', 'pixels', 'sca']));
      const rel = relMaxDiff(out.output.data as Float32Array, await expected('aligned.output'));
      console.log(`stage_b aligned ${backend}: ${rel.toExponential(2)}`);
      expect(rel).toBeLessThanOrEqual(1e-4);
      await runner.release();
    });

    it(`misaligned case (odd level sizes, resize-to-skip; pixels and sca folded) on ${backend}`, golden, async () => {
      const runner = await goldenRunner(backend, false, backend === 'node');
      const out = await runner.run(await feeds('misaligned.', ['x', 'r', 'effnet', 'clip']));
      const rel = relMaxDiff(out.output.data as Float32Array, await expected('misaligned.output'));
      console.log(`stage_b misaligned ${backend}: ${rel.toExponential(2)}`);
      expect(rel).toBeLessThanOrEqual(1e-4);
      await runner.release();
    });
  }

  it('counts the official parameters of the released configs', () => {
    expect(buildStageB(STAGE_B_PRESETS.big).parameterCount()).toBe(1_562_941_136);
    expect(buildStageB(STAGE_B_PRESETS.lite).parameterCount()).toBe(699_471_248);
  });

  it('erfPrecise agrees with known values', () => {
    expect(erfPrecise(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erfPrecise(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(erfPrecise(3.5)).toBeCloseTo(0.9999992569016276, 14);
  });
});
