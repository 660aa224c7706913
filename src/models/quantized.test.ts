/**
 * The int8/int4 graphs compute exactly what their stored weights say: a quantized graph equals the fp32 graph
 * run on the dequantized weights (so all precision loss is the rounding of the weights themselves, measured by
 * `npm run cli -- precisions`, and none comes from the MatMulNBits kernels on either backend).
 */
import { describe, expect, it } from 'vitest';
import { createNodeRunner } from '../engine/node-runner.ts';
import { f32Tensor, type HostTensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { dequantizeBlockwise, quantizeBlockwise } from '../weights/quantize.ts';
import { parseStageCConfig } from './cascade-config.ts';
import { checkpointSource } from './checkpoint-source.ts';
import { compileInMemory } from './compile.ts';
import { QUANT_BLOCK_SIZE } from './model-context.ts';
import { buildStageC } from './stage-c.ts';
import type { WeightSource } from './weight-source.ts';

function dequantizedSource(src: WeightSource, names: Set<string>, bits: 4 | 8): WeightSource {
  return {
    description: `${src.description} (dequantized int${bits})`,
    names: () => src.names(),
    get: (name) => {
      const t = src.get(name);
      if (!t || !names.has(name)) return t;
      const [n, k] = t.shape;
      return { shape: t.shape, read: async () => dequantizeBlockwise(quantizeBlockwise(await t.read(), n, k, bits, QUANT_BLOCK_SIZE), n, k, bits, QUANT_BLOCK_SIZE) };
    },
  };
}

describe('block-quantized linear layers', () => {
  for (const precision of ['int8', 'int4'] as const) {
    for (const backend of ['node', 'wasm'] as const) {
      const golden = needsGolden('stage_c_config.json', 'stage_c_weights.safetensors', 'stage_c_forward.safetensors');
      it(`Stage C ${precision} on ${backend} equals fp32 on the dequantized weights`, golden, async () => {
        const config = parseStageCConfig(await readGoldenJson('stage_c_config.json'));
        const source = checkpointSource([await openGolden('stage_c_weights.safetensors')], 'stage_c');
        const io = await openGolden('stage_c_forward.safetensors');
        const feeds: Record<string, HostTensor> = {};
        for (const n of ['x', 'r', 'clip_text', 'clip_text_pooled']) feeds[n] = f32Tensor(await io.readFloat32(n), [...io.info(n).shape]);
        const quantCtx = buildStageC(config, { precision });
        const quant = await createNodeRunner(await compileInMemory(quantCtx, source), backend);
        expect(quantCtx.quantizedSources.size).toBeGreaterThan(10);
        const bits = precision === 'int8' ? 8 : 4;
        const ref = await createNodeRunner(await compileInMemory(buildStageC(config), dequantizedSource(source, quantCtx.quantizedSources, bits)), backend);
        const a = (await quant.run(feeds)).output.data as Float32Array;
        const b = (await ref.run(feeds)).output.data as Float32Array;
        const rel = relMaxDiff(a, b);
        console.log(`stage_c ${precision} ${backend}: quantized vs dequantized-fp32 ${rel.toExponential(1)}; vs golden ${relMaxDiff(a, await io.readFloat32('output_default_tconds')).toExponential(1)}`);
        expect(rel).toBeLessThanOrEqual(1e-5);
        await quant.release();
        await ref.release();
      });
    }
  }
});
