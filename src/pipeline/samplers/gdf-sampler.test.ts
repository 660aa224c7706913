/**
 * The official sampler against the recorded golden trajectories, without any network: the recorded
 * stepI.model_out is fed back as the model output and stepI.noise (or a TorchGenerator seeded 1030) as the noise.
 */
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../../testing/golden.ts';
import type { SafetensorsFile } from '../../weights/safetensors.ts';
import { TorchGenerator } from '../../core/torch-generator.ts';
import { gdfGuidance, gdfStep, lerpF32, stdAllF32 } from './gdf-sampler.ts';
import { samplerPreset } from './presets.ts';
import { sampleStage, type ModelCall, type StepInfo } from './sample-stage.ts';

interface StageJson {
  cfg: number;
  shift: number;
  timesteps: number;
  shape: number[];
}
type SamplingJson = Record<'stage_c' | 'stage_b', StageJson>;

const FILES = { stage_c: 'sampling_stage_c.safetensors', stage_b: 'sampling_stage_b.safetensors' } as const;
const PRESET_STAGE = { stage_c: 'stageC', stage_b: 'stageB' } as const;

/** Runs sampleStage with the official preset, replaying the recorded model outputs. */
async function replay(
  stage: 'stage_c' | 'stage_b',
  s: StageJson,
  file: SafetensorsFile,
  noise: (shape: readonly number[]) => Float32Array,
  xInit: Float32Array | undefined,
): Promise<{ steps: StepInfo[]; calls: ModelCall[]; result: Float32Array }> {
  const sampler = samplerPreset('official', PRESET_STAGE[stage]);
  expect(sampler).toMatchObject({ kind: 'gdf', shift: s.shift });
  const steps: StepInfo[] = [];
  const calls: ModelCall[] = [];
  const out = await sampleStage({
    shape: s.shape,
    steps: s.timesteps,
    cfg: s.cfg,
    sampler,
    noise,
    xInit,
    model: async (call) => {
      calls.push(call);
      return file.readFloat32(`step${call.step}.model_out`);
    },
    onStep: (info) => {
      steps.push(info);
    },
  });
  return { steps, calls, result: out.result };
}

describe('gdf sampler pieces', () => {
  it('lerp follows torch: start + w(end − start) below 0.5, end − (end − start)(1 − w) above', () => {
    const start = new Float32Array([1, 0.1]);
    const end = new Float32Array([3, 0.7]);
    expect([...lerpF32(start, end, 0.25)]).toEqual([1.5, Math.fround(0.1 + Math.fround(0.25 * Math.fround(0.7 - Math.fround(0.1))))]);
    expect([...lerpF32(start, end, 4)]).toEqual([9, Math.fround(Math.fround(0.7) - Math.fround(Math.fround(Math.fround(0.7) - Math.fround(0.1)) * -3))]);
  });

  it('std is the unbiased whole-tensor std and CFG rescale uses it batch-globally', () => {
    expect(stdAllF32(new Float32Array([1, 2, 3, 4]))).toBeCloseTo(Math.sqrt(5 / 3), 6);
    // cond = [1, 3], uncond = [1, 1], w = 2 → pred_cfg = [1, 5]; std(cond) = √2, std(pred_cfg) = √8
    const pred = gdfGuidance(new Float32Array([1, 3, 1, 1]), 2, 0.7);
    expect(pred[0]).toBeCloseTo(0.7 * 1 * 0.5 + 0.3 * 1, 6);
    expect(pred[1]).toBeCloseTo(0.7 * 5 * 0.5 + 0.3 * 5, 6);
  });

  it('rejects mis-sized model outputs', () => {
    const x = new Float32Array(4);
    expect(() => gdfStep({ x, modelOut: new Float32Array(4), guided: true, cfg: 4, logSNR: 0, logSNRNext: 1, noise: x })).toThrow(/expected 8/);
  });
});

describe('gdf sampler vs golden trajectories', () => {
  for (const stage of ['stage_c', 'stage_b'] as const) {
    it(`${stage}: recorded model_out + recorded noise reproduce pred, x0, x, final.sampled and model_r`, needsGolden(FILES[stage], 'sampling.json'), async () => {
      const s = (await readGoldenJson<SamplingJson>('sampling.json'))[stage];
      const file = await openGolden(FILES[stage]);
      // The noise callback is synchronous, so the recorded draws are loaded first and served in order.
      const recorded: Float32Array[] = [];
      for (let i = 0; i < s.timesteps; i++) recorded.push(await file.readFloat32(`step${i}.noise`));
      let next = 0;
      const noise = (shape: readonly number[]): Float32Array => {
        expect([...shape]).toEqual(s.shape);
        if (next >= recorded.length) throw new Error(`more than ${recorded.length} noise draws`);
        return recorded[next++];
      };
      const { steps, calls, result } = await replay(stage, s, file, noise, await file.readFloat32('x_init'));
      expect(next).toBe(s.timesteps); // one draw per step, including the last
      expect(steps.length).toBe(s.timesteps);
      const worst: Record<string, number> = { pred: 0, x0: 0, x: 0, r: 0 };
      for (let i = 0; i < s.timesteps; i++) {
        const call = calls[i];
        expect(call.guided).toBe(true);
        expect([...call.shape]).toEqual([2 * s.shape[0], ...s.shape.slice(1)]);
        const rDiff = maxAbsDiff(call.r, await file.readFloat32(`step${i}.model_r`));
        expect(rDiff, `step${i}.model_r`).toBeLessThanOrEqual(1e-7);
        worst.r = Math.max(worst.r, rDiff);
        for (const k of ['pred', 'x0', 'x'] as const) {
          const d = relMaxDiff(steps[i][k], await file.readFloat32(`step${i}.${k}`));
          expect(d, `step${i}.${k}`).toBeLessThanOrEqual(1e-4);
          worst[k] = Math.max(worst[k], d);
        }
      }
      const final = relMaxDiff(result, await file.readFloat32('final.sampled'));
      expect(final).toBeLessThanOrEqual(1e-4);
      console.log(`${stage} replay: max rel diff pred ${worst.pred.toExponential(2)}, x0 ${worst.x0.toExponential(2)}, x ${worst.x.toExponential(2)}, final ${final.toExponential(2)}; max |r diff| ${worst.r}`);
    });
  }

  const golden = needsGolden(FILES.stage_c, FILES.stage_b, 'sampling.json');
  it('TorchGenerator(1030) shared by Stage C then Stage B reproduces x_init and every step noise', golden, async () => {
    const json = await readGoldenJson<SamplingJson>('sampling.json');
    const gen = new TorchGenerator(1030);
    let worstNoise = 0;
    for (const stage of ['stage_c', 'stage_b'] as const) {
      const s = json[stage];
      const file = await openGolden(FILES[stage]);
      const draws: Float32Array[] = [];
      const { steps, result } = await replay(stage, s, file, (shape) => {
        const z = gen.randn(shape);
        draws.push(z);
        return z;
      }, undefined);
      expect(draws.length).toBe(s.timesteps + 1);
      const d0 = maxAbsDiff(draws[0], await file.readFloat32('x_init'));
      expect(d0, `${stage} x_init`).toBeLessThanOrEqual(1e-6);
      worstNoise = Math.max(worstNoise, d0);
      for (let i = 0; i < s.timesteps; i++) {
        const d = maxAbsDiff(steps[i].noise!, await file.readFloat32(`step${i}.noise`));
        expect(d, `${stage} step${i}.noise`).toBeLessThanOrEqual(1e-6);
        worstNoise = Math.max(worstNoise, d);
      }
      const final = relMaxDiff(result, await file.readFloat32('final.sampled'));
      expect(final, `${stage} final.sampled`).toBeLessThanOrEqual(1e-4);
      console.log(`${stage} with TorchGenerator(1030): final.sampled rel diff ${final.toExponential(2)}`);
    }
    console.log(`TorchGenerator(1030) noise: max |diff| ${worstNoise.toExponential(3)} over 14 draws`);
  });
});
