/**
 * Checkpoints in diffusers naming (split to_q/to_k/to_v, to_out.0, Stage B clip_txt_pooled_mapper) and in
 * 16-bit storage load into the same graphs as the official files and give the official outputs.
 */
import { describe, expect, it } from 'vitest';
import { createNodeRunner } from '../engine/node-runner.ts';
import { f32Tensor, type HostTensor } from '../engine/tensor.ts';
import { needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../testing/golden.ts';
import { bytesSource } from '../weights/byte-source.ts';
import { float32ArrayToFloat16 } from '../weights/float16.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';
import { encodeSafetensors, type TensorToWrite } from '../weights/safetensors-writer.ts';
import { parseStageBConfig, parseStageCConfig } from './cascade-config.ts';
import { checkpointSource } from './checkpoint-source.ts';
import { compileInMemory } from './compile.ts';
import { WeightMismatchError } from './errors.ts';
import { buildStageB } from './stage-b.ts';
import { buildStageC } from './stage-c.ts';

/** Rewrites an official state dict the way diffusers' single-file converter names it. */
async function toDiffusers(file: SafetensorsFile, stage: 'c' | 'b', half: boolean): Promise<SafetensorsFile> {
  const out: Record<string, TensorToWrite> = {};
  const put = (name: string, shape: readonly number[], data: Float32Array) => {
    out[name] = half ? { dtype: 'F16', shape, data: float32ArrayToFloat16(data) } : { dtype: 'F32', shape, data };
  };
  for (const [name, info] of file.tensors) {
    const data = await file.readFloat32(name);
    const m = /^(.*\.attention)\.attn\.in_proj_(weight|bias)$/.exec(name);
    if (m) {
      const rows = info.shape[0] / 3;
      const per = data.length / 3;
      ['q', 'k', 'v'].forEach((p, i) => put(`${m[1]}.to_${p}.${m[2]}`, [rows, ...info.shape.slice(1)], data.slice(i * per, (i + 1) * per)));
      continue;
    }
    let renamed = name.replace('.attention.attn.out_proj.', '.attention.to_out.0.');
    if (stage === 'b') renamed = renamed.replace(/^clip_mapper\./, 'clip_txt_pooled_mapper.');
    put(renamed, info.shape, data);
  }
  return SafetensorsFile.open(bytesSource(`diffusers_stage_${stage}.safetensors`, encodeSafetensors(out)));
}

describe('checkpoint naming', () => {
  for (const stage of ['c', 'b'] as const) {
    const golden = needsGolden(`stage_${stage}_forward.safetensors`, `stage_${stage}_weights.safetensors`, `stage_${stage}_config.json`);
    it(`Stage ${stage.toUpperCase()} in diffusers naming gives the official output (fp32 and fp16 storage)`, golden, async () => {
      const official = await openGolden(`stage_${stage}_weights.safetensors`);
      const io = await openGolden(`stage_${stage}_forward.safetensors`);
      const prefix = stage === 'c' ? '' : 'misaligned.';
      const names = stage === 'c' ? ['x', 'r', 'clip_text', 'clip_text_pooled', 'clip_img', 'sca', 'crp'] : ['x', 'r', 'effnet', 'clip'];
      const feeds: Record<string, HostTensor> = {};
      for (const n of names) feeds[n] = f32Tensor(await io.readFloat32(prefix + n), [...io.info(prefix + n).shape]);
      const ref = await io.readFloat32(stage === 'c' ? 'output' : 'misaligned.output');
      const build = async () => stage === 'c'
        ? buildStageC(parseStageCConfig(await readGoldenJson('stage_c_config.json')), { conditionInputs: true })
        : buildStageB(parseStageBConfig(await readGoldenJson('stage_b_config.json')));
      for (const half of [false, true]) {
        const file = await toDiffusers(official, stage, half);
        expect([...file.tensors.keys()].some((n) => n.includes('.attention.to_q.'))).toBe(true);
        const runner = await createNodeRunner(await compileInMemory(await build(), checkpointSource([file], stage === 'c' ? 'stage_c' : 'stage_b')), 'node');
        const rel = relMaxDiff((await runner.run(feeds)).output.data as Float32Array, ref);
        console.log(`stage ${stage} diffusers naming, ${half ? 'F16' : 'F32'} storage: ${rel.toExponential(1)}`);
        expect(rel).toBeLessThanOrEqual(half ? 2e-2 : 1e-4);
        await runner.release();
      }
    });
  }

  const golden = needsGolden('stage_c_config.json', 'stage_b_weights.safetensors');
  it('lists every missing, unexpected and mis-shaped tensor of a wrong checkpoint in one error', golden, async () => {
    const ctx = buildStageC(parseStageCConfig(await readGoldenJson('stage_c_config.json')));
    const stageB = checkpointSource([await openGolden('stage_b_weights.safetensors')], 'stage_b');
    const mismatch = (() => {
      try {
        ctx.bind(stageB);
      } catch (e) {
        return e;
      }
    })();
    expect(mismatch).toBeInstanceOf(WeightMismatchError);
    const m = mismatch as WeightMismatchError;
    expect(m.missing).toContain('clip_txt_mapper.weight');
    expect(m.unexpected).toContain('effnet_mapper.0.weight');
    expect(m.shapeMismatches.length).toBeGreaterThan(0);
    expect(m.message).toMatch(/missing \d+ tensor\(s\)[\s\S]*unexpected \d+ tensor\(s\)[\s\S]*shape mismatch/);
  });
});
