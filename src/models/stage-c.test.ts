import { describe, expect, it } from 'vitest';
import { createNodeRunner, type NodeBackend } from '../engine/node-runner.ts';
import { f32Tensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { rEmbeddingFrequencies } from './cascade-blocks.ts';
import { parseStageCConfig, STAGE_C_PRESETS } from './cascade-config.ts';
import { checkpointSource } from './checkpoint-source.ts';
import { compileInMemory } from './compile.ts';
import { buildStageC } from './stage-c.ts';

async function runGolden(variant: 'stage_c' | 'stage_c_ffvariant', backend: NodeBackend, conditionInputs: boolean, fusedAttention: boolean) {
  const config = parseStageCConfig(await readGoldenJson(`${variant}_config.json`));
  const ctx = buildStageC(config, { conditionInputs, fusedAttention });
  const weights = await openGolden(`${variant}_weights.safetensors`);
  const io = await openGolden(`${variant}_forward.safetensors`);
  const runner = await createNodeRunner(await compileInMemory(ctx, checkpointSource([weights], 'stage_c')), backend);
  const feed = async (name: string) => f32Tensor(await io.readFloat32(name), [...io.info(name).shape]);
  const feeds: Record<string, ReturnType<typeof f32Tensor>> = {};
  const names = conditionInputs ? ['x', 'r', 'clip_text', 'clip_text_pooled', 'clip_img', 'sca', 'crp'] : ['x', 'r', 'clip_text', 'clip_text_pooled'];
  for (const n of names) feeds[n] = await feed(n);
  const out = await runner.run(feeds);
  await runner.release();
  return { out: out.output.data as Float32Array, io };
}

describe('Stage C graph vs the official PyTorch forward', () => {
  for (const backend of ['node', 'wasm'] as const) {
    for (const variant of ['stage_c', 'stage_c_ffvariant'] as const) {
      for (const fused of [true, false]) {
        const golden = needsGolden(`${variant}_config.json`, `${variant}_weights.safetensors`, `${variant}_forward.safetensors`);
        it(`${variant} on ${backend}, ${fused ? 'fused' : 'plain'} attention, sca/crp/clip_img as inputs`, golden, async () => {
          const { out, io } = await runGolden(variant, backend, true, fused);
          const rel = relMaxDiff(out, await io.readFloat32('output'));
          console.log(`${variant} ${backend} fused=${fused}: max|diff|/max|ref| = ${rel.toExponential(2)}`);
          expect(rel).toBeLessThanOrEqual(1e-4);
        });
      }
    }
  }

  it('r-embedding frequency table equals the scalar-kernel golden', needsGolden('rng_torch_cpu.safetensors'), async () => {
    const rng = await openGolden('rng_torch_cpu.safetensors');
    expect([...rEmbeddingFrequencies(64)]).toEqual([...(await rng.readFloat32('r_freqs.scalar'))]);
  });

  const golden = needsGolden('stage_c_config.json', 'stage_c_weights.safetensors', 'stage_c_forward.safetensors');
  it('folded zero conditions equal sca = crp = 0 and clip_img = 0 given as inputs', golden, async () => {
    const config = parseStageCConfig(await readGoldenJson('stage_c_config.json'));
    const weights = checkpointSource([await openGolden('stage_c_weights.safetensors')], 'stage_c');
    const io = await openGolden('stage_c_forward.safetensors');
    const x = f32Tensor(await io.readFloat32('x'), [...io.info('x').shape]);
    const r = f32Tensor(await io.readFloat32('r'), [2]);
    const clipText = f32Tensor(await io.readFloat32('clip_text'), [...io.info('clip_text').shape]);
    const pooled = f32Tensor(await io.readFloat32('clip_text_pooled'), [...io.info('clip_text_pooled').shape]);
    const zeros = (dims: number[]) => f32Tensor(new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);
    const open = await createNodeRunner(await compileInMemory(buildStageC(config, { conditionInputs: true }), weights), 'node');
    const folded = await createNodeRunner(await compileInMemory(buildStageC(config), weights), 'node');
    const a = await open.run({ x, r, clip_text: clipText, clip_text_pooled: pooled, clip_img: zeros([2, 1, 24]), sca: zeros([2]), crp: zeros([2]) });
    const b = await folded.run({ x, r, clip_text: clipText, clip_text_pooled: pooled });
    const rel = relMaxDiff(b.output.data as Float32Array, a.output.data as Float32Array);
    console.log(`folded vs inputs: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-5);
    // With clip_img as given in the golden and default t-conds, the official output_default_tconds.
    const c = await open.run({ x, r, clip_text: clipText, clip_text_pooled: pooled, clip_img: f32Tensor(await io.readFloat32('clip_img'), [2, 1, 24]), sca: zeros([2]), crp: zeros([2]) });
    expect(relMaxDiff(c.output.data as Float32Array, await io.readFloat32('output_default_tconds'))).toBeLessThanOrEqual(1e-4);
    await open.release();
    await folded.release();
  });

  it('counts the official parameters of the released configs', () => {
    expect(buildStageC(STAGE_C_PRESETS.big).parameterCount()).toBe(3_589_103_632);
    expect(buildStageC(STAGE_C_PRESETS.lite).parameterCount()).toBe(1_030_785_040);
  });
});
