import { describe, expect, it } from 'vitest';
import { createNodeRunner, type NodeBackend } from '../engine/node-runner.ts';
import { i64Tensor, type HostTensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { checkpointSource } from './checkpoint-source.ts';
import {
  buildClipTextEncoder,
  CLIP_BIGG_TEXT_PRESET,
  clipTextParameterCount,
  parseClipTextConfig,
  type ClipTextBuildOptions,
} from './clip-text.ts';
import { compileInMemory } from './compile.ts';

const golden = needsGolden('clip/text_encoder_config.json', 'clip/text_encoder_weights.safetensors', 'clip/text_encoder_forward.safetensors');

const OUTPUTS = ['hidden_states_last_layer', 'last_hidden_state', 'pooled_output', 'text_embeds'] as const;

async function runGolden(backend: NodeBackend, options: ClipTextBuildOptions, allOnesMask: boolean) {
  const config = parseClipTextConfig(await readGoldenJson('clip', 'text_encoder_config.json'));
  const ctx = buildClipTextEncoder(config, options);
  const weights = checkpointSource([await openGolden('clip', 'text_encoder_weights.safetensors')], 'clip_text');
  const io = await openGolden('clip', 'text_encoder_forward.safetensors');
  const runner = await createNodeRunner(await compileInMemory(ctx, weights), backend);
  const dims = [...io.info('input.input_ids').shape];
  const ids = await io.readInt64('input.input_ids');
  const mask = allOnesMask ? new BigInt64Array(ids.length).fill(1n) : await io.readInt64('input.attention_mask');
  const out: Record<string, HostTensor> = await runner.run({ input_ids: i64Tensor(ids, dims), attention_mask: i64Tensor(mask, dims) });
  await runner.release();
  return { out, io };
}

async function compareAll(backend: NodeBackend, options: ClipTextBuildOptions, allOnesMask: boolean, tag: string, tol: number) {
  const { out, io } = await runGolden(backend, options, allOnesMask);
  const prefix = allOnesMask ? 'nomask' : 'masked';
  let worst = 0;
  for (const name of OUTPUTS) {
    const ref = await io.readFloat32(`${prefix}.${name}`);
    expect(out[name].dims).toEqual([...io.info(`${prefix}.${name}`).shape]);
    const rel = relMaxDiff(out[name].data as Float32Array, ref);
    console.log(`clip ${tag} ${backend} ${prefix}.${name}: ${rel.toExponential(2)}`);
    worst = Math.max(worst, rel);
  }
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('CLIP text encoder vs Hugging Face CLIPTextModelWithProjection', () => {
  for (const backend of ['node', 'wasm'] as const) {
    for (const fused of [false, true]) {
      const mode = fused ? 'MultiHeadAttention' : 'MatMul/Softmax';
      it(`masked outputs on ${backend} (${mode})`, golden, async () => {
        await compareAll(backend, { fusedAttention: fused }, false, mode, 1e-4);
      });
      it(`all-ones mask equals HF without mask on ${backend} (${mode})`, golden, async () => {
        await compareAll(backend, { fusedAttention: fused }, true, mode, 1e-4);
      });
    }
  }

  it('fp16 weights on node stay within 1e-2 of the golden', golden, async () => {
    await compareAll('node', { precision: 'fp16' }, false, 'fp16', 1e-2);
  });

  it('the padding mask changes only padding positions (golden row 1: EOS at 14)', golden, async () => {
    const masked = (await runGolden('node', {}, false)).out.hidden_states_last_layer.data as Float32Array;
    const open = (await runGolden('node', {}, true)).out.hidden_states_last_layer.data as Float32Array;
    const H = 16;
    const row = (a: Float32Array, b: number, from: number, to: number) => a.subarray((b * 77 + from) * H, (b * 77 + to) * H);
    expect(relMaxDiff(row(masked, 1, 0, 15), row(open, 1, 0, 15))).toBe(0);
    expect(relMaxDiff(row(masked, 1, 15, 77), row(open, 1, 15, 77))).toBeGreaterThan(1e-3);
  });

  it('counts the bigG parameters (694,659,840)', () => {
    const t0 = performance.now();
    const ctx = buildClipTextEncoder(CLIP_BIGG_TEXT_PRESET);
    const ms = performance.now() - t0;
    console.log(`bigG text graph built in ${ms.toFixed(0)} ms: ${ctx.g.nodes.length} nodes, ${ctx.parameterCount()} parameters`);
    expect(ctx.parameterCount()).toBe(694_659_840);
    expect(clipTextParameterCount(CLIP_BIGG_TEXT_PRESET)).toBe(694_659_840);
  });

  it('parses the golden text_encoder_config.json', needsGolden('clip/text_encoder_config.json'), async () => {
    const c = parseClipTextConfig(await readGoldenJson('clip', 'text_encoder_config.json'));
    expect(c).toEqual({ ...CLIP_BIGG_TEXT_PRESET, hidden_size: 16, intermediate_size: 64, num_attention_heads: 2, num_hidden_layers: 3, projection_dim: 24 });
  });

  it('parses HF config.json variants', () => {
    // A full CLIPConfig: its text_config is used.
    expect(parseClipTextConfig({ text_config: { ...CLIP_BIGG_TEXT_PRESET, architectures: ['x'] }, vision_config: {} })).toEqual(CLIP_BIGG_TEXT_PRESET);
    expect(parseClipTextConfig({ hidden_act: 'quick_gelu' }).hidden_act).toBe('quick_gelu');
    expect(() => parseClipTextConfig({ hidden_act: 'relu' })).toThrow(/not supported/);
    expect(() => parseClipTextConfig({ hidden_size: 10, num_attention_heads: 3 })).toThrow(/divide/);
  });
});
