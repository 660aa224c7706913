/**
 * DPM++(2M) and LCM on Stable Cascade's σ schedule against the ComfyUI-style golden trajectories
 * (golden/sampling_comfy_stage_{c,b}), without any network: the recorded step<i>.model_out is fed back as the
 * network output and the recorded noise (or a TorchGenerator seeded 1030) as the noise.
 */
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, needsGolden, openGolden, readGoldenJson, relMaxDiff } from '../../testing/golden.ts';
import type { SafetensorsFile } from '../../weights/safetensors.ts';
import { TorchGenerator } from '../../core/torch-generator.ts';
import { cascadeSigma, cascadeSigmaRange, cascadeSigmas, cascadeTimestep, type SigmaScheduleName } from './cascade-sigmas.ts';
import { createStageSampler } from './create-stage-sampler.ts';
import type { KDiffusionMethod, KDiffusionSamplerConfig } from './presets.ts';
import { sampleStage, type ModelCall, type StepInfo } from './sample-stage.ts';

interface ComfyStageJson {
  sampler: KDiffusionMethod;
  schedule: SigmaScheduleName;
  shift: string;
  steps: string;
  cfg: string;
  sigmas: number[];
}
type ComfyJson = Record<'stage_c' | 'stage_b', ComfyStageJson>;

const FILES = { stage_c: 'sampling_comfy_stage_c.safetensors', stage_b: 'sampling_comfy_stage_b.safetensors' } as const;

function configOf(s: ComfyStageJson): KDiffusionSamplerConfig {
  return { kind: 'kdiffusion', method: s.sampler, schedule: s.schedule, shift: Number(s.shift) };
}

async function replay(s: ComfyStageJson, file: SafetensorsFile, noise: (shape: readonly number[]) => Float32Array, xInit?: Float32Array) {
  const shape = [...file.info('x_init').shape];
  const calls: ModelCall[] = [];
  const steps: StepInfo[] = [];
  const out = await sampleStage({
    shape, steps: Number(s.steps), cfg: Number(s.cfg), sampler: configOf(s), noise, xInit,
    model: async (call) => {
      calls.push(call);
      return file.readFloat32(`step${call.step}.model_out`);
    },
    onStep: (info) => void steps.push(info),
  });
  return { shape, calls, steps, result: out.result };
}

describe('Stable Cascade σ schedule (ComfyUI StableCascadeSampling)', () => {
  it('σ(t) and timestep(σ) invert each other, σ range is σ(1e-4) … σ(1)', () => {
    expect(cascadeSigmaRange(1).sigmaMax).toBeCloseTo(99.995, 3);
    expect(cascadeSigmaRange(1).sigmaMin).toBeCloseTo(0.01, 3);
    for (const t of [0.1, 0.5, 0.9]) expect(cascadeTimestep(cascadeSigma(t, 1))).toBeCloseTo(t, 5);
    // With a shift the inverse is the unshifted one: shift 2 adds noise, so timestep(σ(t, 2)) > t.
    expect(cascadeTimestep(cascadeSigma(0.5, 2))).toBeGreaterThan(0.5);
  });

  for (const schedule of ['sgm_uniform', 'normal', 'karras', 'exponential'] as const) {
    it(`${schedule}: n decreasing σ from σ_max to σ_min, then 0`, () => {
      const { sigmaMin, sigmaMax } = cascadeSigmaRange(2);
      const s = cascadeSigmas(schedule, 8, 2);
      expect(s.length).toBe(9);
      expect(s[0]).toBeCloseTo(sigmaMax, 2);
      expect(s[8]).toBe(0);
      for (let i = 0; i < 8; i++) expect(s[i]).toBeGreaterThan(s[i + 1]);
      // sgm_uniform stops one step short of the end; normal ends on σ(timestep(σ_min)), which the shift moves
      // (ComfyUI inverts without the shift and re-applies it); karras and exponential end on σ_min.
      if (schedule === 'sgm_uniform') expect(s[7]).toBeGreaterThan(cascadeSigma(cascadeTimestep(sigmaMin), 2) * 1.5);
      else if (schedule === 'normal') expect(s[7]).toBeCloseTo(cascadeSigma(cascadeTimestep(sigmaMin), 2), 6);
      else expect(s[7]).toBeCloseTo(sigmaMin, 4);
    });
  }

  it('CFG 1 runs the network on the conditional half only; DPM++ draws no noise, LCM one per step but the last', () => {
    const dpm = createStageSampler({ kind: 'kdiffusion', method: 'dpmpp_2m', schedule: 'sgm_uniform', shift: 2 }, 4, 1);
    const lcm = createStageSampler({ kind: 'kdiffusion', method: 'lcm', schedule: 'exponential', shift: 1 }, 4, 6);
    expect(dpm.guided).toBe(false);
    expect(lcm.guided).toBe(true);
    expect([0, 1, 2, 3].map((i) => dpm.drawsNoise(i))).toEqual([false, false, false, false]);
    expect([0, 1, 2, 3].map((i) => lcm.drawsNoise(i))).toEqual([true, true, true, false]);
    expect(dpm.output).toBe('x');
  });
});

describe('k-diffusion samplers vs golden trajectories', () => {
  for (const stage of ['stage_c', 'stage_b'] as const) {
    it(`${stage}: σ list, r, model input, denoised, x and final.sampled from the recorded model_out and noise`, needsGolden(FILES[stage], 'sampling_comfy.json'), async () => {
      const s = (await readGoldenJson<ComfyJson>('sampling_comfy.json'))[stage];
      const file = await openGolden(FILES[stage]);
      const n = Number(s.steps);
      const sampler = createStageSampler(configOf(s), n, Number(s.cfg));
      const sigmas = Float32Array.from({ length: n + 1 }, (_, i) => sampler.level(i));
      expect(relMaxDiff(sigmas, await file.readFloat32('sigmas'))).toBeLessThanOrEqual(1e-6);
      expect(relMaxDiff(sigmas, s.sigmas)).toBeLessThanOrEqual(1e-6);

      const recorded: Float32Array[] = [];
      for (let i = 0; i < n; i++) if (file.has(`step${i}.noise`)) recorded.push(await file.readFloat32(`step${i}.noise`));
      let next = 0;
      const { shape, calls, steps, result } = await replay(s, file, () => recorded[next++], await file.readFloat32('x_init'));
      expect(next).toBe(s.sampler === 'lcm' ? n - 1 : 0);
      const worst: Record<string, number> = { r: 0, model_in: 0, denoised: 0, x: 0 };
      const half = shape.reduce((a, b) => a * b, 1);
      for (let i = 0; i < n; i++) {
        expect(calls[i].guided).toBe(true);
        worst.r = Math.max(worst.r, maxAbsDiff(calls[i].r, await file.readFloat32(`step${i}.model_r`)));
        worst.model_in = Math.max(worst.model_in, relMaxDiff(calls[i].x.subarray(0, half), await file.readFloat32(`step${i}.model_in`)));
        worst.denoised = Math.max(worst.denoised, relMaxDiff(steps[i].x0, await file.readFloat32(`step${i}.denoised`)));
        // step<i>.x is the state before the call: x_start, then the result of step i − 1.
        const before = i === 0 ? sampler.startLatent(await file.readFloat32('x_init')) : steps[i - 1].x;
        worst.x = Math.max(worst.x, relMaxDiff(before, await file.readFloat32(`step${i}.x`)));
      }
      const xStart = relMaxDiff(sampler.startLatent(await file.readFloat32('x_init')), await file.readFloat32('x_start'));
      const final = relMaxDiff(result, await file.readFloat32('final.sampled'));
      console.log(`${stage} comfy replay: |r diff| ${worst.r}, model_in ${worst.model_in.toExponential(1)}, denoised ${worst.denoised.toExponential(1)}, x ${worst.x.toExponential(1)}, x_start ${xStart.toExponential(1)}, final ${final.toExponential(1)}`);
      expect(worst.r).toBeLessThanOrEqual(1e-7);
      for (const v of [worst.model_in, worst.denoised, worst.x, xStart, final]) expect(v).toBeLessThanOrEqual(1e-4);
    });
  }

  it('TorchGenerator(1030): Stage C x_init, Stage B x_init, then one draw per LCM step', needsGolden(FILES.stage_c, FILES.stage_b, 'sampling_comfy.json'), async () => {
    const json = await readGoldenJson<ComfyJson>('sampling_comfy.json');
    const gen = new TorchGenerator(1030);
    let worst = 0;
    for (const stage of ['stage_c', 'stage_b'] as const) {
      const file = await openGolden(FILES[stage]);
      const { steps, result } = await replay(json[stage], file, (shape) => gen.randn(shape));
      const n = Number(json[stage].steps);
      for (let i = 0; i < n; i++) {
        if (!file.has(`step${i}.noise`)) continue;
        worst = Math.max(worst, relMaxDiff(steps[i].noise!, await file.readFloat32(`step${i}.noise`)));
      }
      const final = relMaxDiff(result, await file.readFloat32('final.sampled'));
      console.log(`${stage} comfy with TorchGenerator(1030): final ${final.toExponential(2)}`);
      expect(final).toBeLessThanOrEqual(1e-4);
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});
