import { describe, expect, it } from 'vitest';
import { createNodeRunner, type NodeBackend } from '../engine/node-runner.ts';
import { f32Tensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { checkpointSource } from './checkpoint-source.ts';
import { compileInMemory } from './compile.ts';
import { WeightMismatchError } from './errors.ts';
import type { Precision } from './model-context.ts';
import {
  buildStageADecoder,
  parseStageAConfig,
  STAGE_A_PRESET,
  stageADecoderParameterCount,
  stageAEncoderParameterCount,
  stageAParameterCount,
} from './stage-a.ts';
import { mapWeightSource } from './weight-source.ts';

const decodeFiles = needsGolden('stage_a_config.json', 'stage_a_weights.safetensors', 'stage_a_decode.safetensors');

async function decodeGolden(backend: NodeBackend, precision: Precision = 'fp32', latentsName = 'latents', scaleFactor?: number) {
  const config = parseStageAConfig(await readGoldenJson('stage_a_config.json'));
  const ctx = buildStageADecoder(config, { precision, scaleFactor });
  const weights = checkpointSource([await openGolden('stage_a_weights.safetensors')], 'stage_a');
  const io = await openGolden('stage_a_decode.safetensors');
  const runner = await createNodeRunner(await compileInMemory(ctx, weights), backend);
  const out = await runner.run({ latents: f32Tensor(await io.readFloat32(latentsName), [...io.info(latentsName).shape]) });
  await runner.release();
  return { decoded: out.decoded, io };
}

describe('Stage A decoder vs the official StageA.decode', () => {
  for (const backend of ['node', 'wasm'] as const) {
    it(`decodes the golden latents on ${backend} (fp32)`, decodeFiles, async () => {
      const { decoded, io } = await decodeGolden(backend);
      expect(decoded.dims).toEqual([2, 3, 48, 80]);
      const rel = relMaxDiff(decoded.data as Float32Array, await io.readFloat32('decoded'));
      console.log(`stage A decode ${backend} fp32: max|diff|/max|ref| = ${rel.toExponential(2)}`);
      expect(rel).toBeLessThanOrEqual(1e-4);
    });
  }

  it('reproduces the VQ reconstruction (decode of the quantized latents) on node', decodeFiles, async () => {
    // enc.quantized_div_scale is codebook/scale, so decode(·) = decoder(codebook vectors) = enc.reconstruction.
    const { decoded, io } = await decodeGolden('node', 'fp32', 'enc.quantized_div_scale');
    const rel = relMaxDiff(decoded.data as Float32Array, await io.readFloat32('enc.reconstruction'));
    console.log(`stage A reconstruction node fp32: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-4);
  });

  it('fp16 weights on node stay within 1e-2 of the golden', decodeFiles, async () => {
    const { decoded, io } = await decodeGolden('node', 'fp16');
    const rel = relMaxDiff(decoded.data as Float32Array, await io.readFloat32('decoded'));
    console.log(`stage A decode node fp16: ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-2);
  });

  it('takes the scale factor as a build option (diffusers 0.3764)', decodeFiles, async () => {
    // decode with scale s of latents L equals decode with 0.43 of L·s/0.43.
    const s = 0.3764;
    const a = await decodeGolden('node', 'fp32', 'latents', s);
    const config = parseStageAConfig(await readGoldenJson('stage_a_config.json'));
    const runner = await createNodeRunner(
      await compileInMemory(buildStageADecoder(config), checkpointSource([await openGolden('stage_a_weights.safetensors')], 'stage_a')),
      'node',
    );
    const lat = await a.io.readFloat32('latents');
    const scaled = lat.map((v) => Math.fround((v * s) / 0.43));
    const b = await runner.run({ latents: f32Tensor(scaled, [...a.io.info('latents').shape]) });
    await runner.release();
    expect(relMaxDiff(a.decoded.data as Float32Array, b.decoded.data as Float32Array)).toBeLessThanOrEqual(1e-5);
    expect(relMaxDiff(a.decoded.data as Float32Array, await a.io.readFloat32('decoded'))).toBeGreaterThan(1e-2);
  });

  it('counts the parameters: released 18,406,903 with encoder', () => {
    const released = buildStageADecoder(STAGE_A_PRESET).parameterCount();
    expect(released).toBe(stageADecoderParameterCount(STAGE_A_PRESET.kwargs));
    console.log(`released Stage A: decoder ${released}, encoder+BN+codebook ${stageAEncoderParameterCount(STAGE_A_PRESET.kwargs)}`);
    expect(released).toBe(15_706_842);
    expect(stageAParameterCount(STAGE_A_PRESET)).toBe(18_406_903);
  });

  it('counts the parameters of the golden state_dict', needsGolden('stage_a_config.json', 'stage_a_weights.safetensors'), async () => {
    const config = parseStageAConfig(await readGoldenJson('stage_a_config.json'));
    const file = await openGolden('stage_a_weights.safetensors');
    let total = 0;
    for (const t of file.tensors.values()) total += t.shape.reduce((a, d) => a * d, 1);
    expect(stageAParameterCount(config)).toBe(total);
    expect(buildStageADecoder(config).parameterCount()).toBe(stageADecoderParameterCount(config.kwargs));
  });

  it('builds other level counts (levels 3) with consistent names and shapes', () => {
    const config = parseStageAConfig({ class: 'StageA', kwargs: { levels: 3, bottleneck_blocks: 1, c_hidden: 32, c_latent: 4, codebook_size: 16 } });
    const ctx = buildStageADecoder(config);
    // up_blocks: 0 in-conv, 1 ResBlock(32), 2 ConvT 32→16, 3 ResBlock(16), 4 ConvT 16→8, 5 ResBlock(8).
    expect(ctx.expected.get('up_blocks.2.weight')).toEqual([32, 16, 4, 4]);
    expect(ctx.expected.get('up_blocks.4.weight')).toEqual([16, 8, 4, 4]);
    expect(ctx.expected.get('up_blocks.5.channelwise.0.weight')).toEqual([32, 8]);
    expect(ctx.expected.get('out_block.0.weight')).toEqual([12, 8, 1, 1]);
    expect(ctx.parameterCount()).toBe(stageADecoderParameterCount(config.kwargs));
  });

  it('rejects bad configs', () => {
    expect(() => parseStageAConfig({ class: 'StageB', kwargs: {} })).toThrow(/StageA/);
    expect(() => parseStageAConfig({ kwargs: { c_hiden: 3 } })).toThrow(/unknown argument/);
    expect(() => parseStageAConfig({ kwargs: { levels: 3, c_hidden: 6 } })).toThrow(/divisible/);
  });

  const mismatchFiles = needsGolden('stage_a_config.json', 'stage_a_weights.safetensors', 'stage_b_weights.safetensors');
  it('lists missing, unexpected and mis-shaped tensors together', mismatchFiles, async () => {
    const config = parseStageAConfig(await readGoldenJson('stage_a_config.json'));
    // Stage B weights: every decoder tensor is missing, every Stage B tensor is unexpected.
    const stageB = checkpointSource([await openGolden('stage_b_weights.safetensors')], 'stage_a');
    let bErr: unknown;
    try {
      buildStageADecoder(config).bind(stageB);
    } catch (e) {
      bErr = e;
    }
    expect(bErr).toBeInstanceOf(WeightMismatchError);
    const b = bErr as WeightMismatchError;
    // Both lists are filled in one error (names Stage B shares with Stage A, like up_blocks.0.0.*, may
    // show up as shape mismatches instead of missing).
    expect(b.missing.length).toBeGreaterThan(0);
    expect(b.unexpected.length).toBeGreaterThan(0);
    // Every decoder tensor Stage B does not hold with the right shape is reported.
    const expected = buildStageADecoder(config).expected;
    const fitting = [...expected].filter(([n, shape]) => stageB.get(n)?.shape.join() === shape.join()).length;
    expect(b.missing.length + b.shapeMismatches.length).toBe(expected.size - fitting);

    // A tweaked Stage A map: one tensor dropped, one renamed (missing + unexpected), one reshaped.
    const file = await openGolden('stage_a_weights.safetensors');
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, info] of file.tensors) tensors.set(name, { shape: [...info.shape], data: new Float32Array(0) });
    tensors.delete('up_blocks.1.gammas');
    const renamed = tensors.get('out_block.0.bias')!;
    tensors.delete('out_block.0.bias');
    tensors.set('out_block.0.bias_typo', renamed);
    tensors.set('up_blocks.3.weight', { shape: [8, 16, 4, 4], data: new Float32Array(0) });
    let err: unknown;
    try {
      buildStageADecoder(config).bind(mapWeightSource('tweaked', tensors));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightMismatchError);
    const m = err as WeightMismatchError;
    expect(m.missing).toEqual(['out_block.0.bias', 'up_blocks.1.gammas']);
    expect(m.unexpected).toEqual(['out_block.0.bias_typo']);
    expect(m.shapeMismatches).toEqual([{ name: 'up_blocks.3.weight', expected: [16, 8, 4, 4], actual: [8, 16, 4, 4] }]);
    expect(m.message).toMatch(/missing 2[\s\S]*unexpected 1[\s\S]*1 shape mismatch/);
    // Encoder tensors (in_block, down_blocks incl. BatchNorm, vquantizer) are accepted without being read.
    expect(m.unexpected.some((n) => n.startsWith('down_blocks.') || n.startsWith('vquantizer.'))).toBe(false);
  });
});

describe('Stage A reduced precision with fp16 ConvTranspose weights', () => {
  it('fp16 matches fp32 on a config whose ConvTranspose weight is big enough to go fp16', async () => {
    // c_hidden 128: ConvTranspose weight 128·64·16 = 131072 ≥ 65536 elements, so convWeightDtype picks fp16
    // and the Cast-around-conv path runs (the golden's tiny config never reaches it).
    const config = parseStageAConfig({ kwargs: { levels: 2, bottleneck_blocks: 1, c_hidden: 128, c_latent: 4, codebook_size: 8 } });
    const ref = buildStageADecoder(config);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1; // uniform(-1,1), deterministic
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, shape] of ref.expected) {
      const n = shape.reduce((a, d) => a * d, 1);
      const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, d) => a * d, 1) : 1;
      const std = name.endsWith('gammas') ? 0.5 : name.endsWith('bias') ? 0.1 : Math.sqrt(3 / fanIn);
      tensors.set(name, { shape: [...shape], data: Float32Array.from({ length: n }, () => rand() * std) });
    }
    const src = mapWeightSource('random', tensors);
    const half = buildStageADecoder(config, { precision: 'fp16' });
    expect(half.g.weights.some((w) => w.name === 'up_blocks.2.weight' && w.dtype === 'float16')).toBe(true);
    const latents = f32Tensor(Float32Array.from({ length: 2 * 4 * 6 * 5 }, () => rand() * 2), [2, 4, 6, 5]);
    const a = await createNodeRunner(await compileInMemory(ref, src), 'node');
    const b = await createNodeRunner(await compileInMemory(half, src), 'node');
    const ya = (await a.run({ latents })).decoded;
    const yb = (await b.run({ latents })).decoded;
    await a.release();
    await b.release();
    expect(yb.dims).toEqual([2, 3, 24, 20]);
    const rel = relMaxDiff(yb.data as Float32Array, ya.data as Float32Array);
    console.log(`stage A c_hidden 128 fp16 vs fp32 (node): ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-2);
  });
});
