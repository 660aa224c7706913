import { describe, expect, it } from 'vitest';
import { TorchGenerator } from '../../core/torch-generator.ts';
import {
  diffusersAlphaCumprod, diffusersStep, diffusersStepCoefficients, diffusersTimesteps, diffusersUsesCfg,
} from './diffusers-sampler.ts';
import { gdfStep } from './gdf-sampler.ts';
import { createStageSampler } from './create-stage-sampler.ts';
import { SAMPLER_PRESETS, samplerPreset } from './presets.ts';
import { sampleStage, type ModelCall } from './sample-stage.ts';

describe('diffusers DDPMWuerstchenScheduler', () => {
  it('ᾱ(t) over 20 steps matches spec §7.2', () => {
    const t = diffusersTimesteps(20);
    expect(t.length).toBe(21);
    const spec = [1.0e-4, 6.06e-3, 2.41e-2, 5.37e-2, 9.4e-2, 0.1443, 0.2031, 0.2692, 0.3408, 0.4163, 0.4938, 0.5715,
      0.6475, 0.7199, 0.7869, 0.847, 0.8987, 0.9407, 0.9721, 0.992];
    for (let i = 0; i < 20; i++) {
      const acp = diffusersAlphaCumprod(t[i]);
      // spec values are printed to 3–4 significant digits
      expect(Math.abs(acp - spec[i]) / spec[i], `t=${t[i]}`).toBeLessThan(2e-3);
    }
    expect(diffusersAlphaCumprod(0)).toBe(Math.fround(0.9999)); // the last step lands on the clamp
  });

  it('step 0 of 20 has σ = 0.98875; the last step adds no noise', () => {
    const t = diffusersTimesteps(20);
    const c0 = diffusersStepCoefficients(t[0], t[1]);
    expect(c0.alphaCumprod).toBe(Math.fround(1e-4));
    expect(c0.sigma).toBeCloseTo(0.98875, 5);
    expect(c0.noiseMask).toBe(1);
    const last = diffusersStepCoefficients(t[19], t[20]);
    expect(last.noiseMask).toBe(0);
    const x = new Float32Array([0.5, -1]);
    const eps = new Float32Array([0.2, 0.1]);
    const a = diffusersStep({ x, modelOut: eps, guided: false, cfg: 0, t: t[19], tPrev: t[20], noise: new Float32Array([5, 5]) });
    const b = diffusersStep({ x, modelOut: eps, guided: false, cfg: 0, t: t[19], tPrev: t[20], noise: new Float32Array([-7, 3]) });
    expect(a.x).toEqual(b.x);
  });

  it('μ/σ update equals the gdf DDPM (η = 1) update at the same noise levels', () => {
    const t = diffusersTimesteps(20);
    const g = new TorchGenerator(5);
    const x = g.randn([64]);
    const eps = g.randn([64]);
    const z = g.randn([64]);
    for (const i of [0, 7, 15]) {
      const logit = (p: number): number => Math.fround(Math.log(p / (1 - p)));
      const d = diffusersStep({ x, modelOut: eps, guided: false, cfg: 0, t: t[i], tPrev: t[i + 1], noise: z });
      const ref = gdfStep({
        x, modelOut: eps, guided: false, cfg: 0, noise: z,
        logSNR: logit(diffusersAlphaCumprod(t[i])), logSNRNext: logit(diffusersAlphaCumprod(t[i + 1])),
      });
      let maxDiff = 0;
      let mag = 0;
      for (let k = 0; k < 64; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(d.x[k] - ref.x[k]));
        mag = Math.max(mag, Math.abs(ref.x[k]));
      }
      expect(maxDiff / mag, `step ${i}`).toBeLessThan(2e-4); // float32 rounding of two different formulas
    }
  });

  it('guides only when w > 1, with plain lerp and no rescale', () => {
    expect(diffusersUsesCfg(1)).toBe(false);
    expect(diffusersUsesCfg(null)).toBe(false);
    expect(diffusersUsesCfg(1.5)).toBe(true);
    const t = diffusersTimesteps(4);
    // cond 1, uncond 0, w 3 → ε = 3 everywhere
    const guided = diffusersStep({ x: new Float32Array(2), modelOut: new Float32Array([1, 1, 0, 0]), guided: true, cfg: 3, t: t[1], tPrev: t[2], noise: new Float32Array(2) });
    expect([...guided.pred]).toEqual([3, 3]);
  });
});

describe('sampleStage', () => {
  it('diffusers preset: r = t, one noise draw per step plus the initial latent, result = final x', async () => {
    const sampler = samplerPreset('diffusers', 'stageC');
    const calls: ModelCall[] = [];
    let draws = 0;
    const gen = new TorchGenerator(42);
    const out = await sampleStage({
      shape: [1, 2, 2, 4],
      steps: 5,
      cfg: 1, // ≤ 1: no guidance in diffusers
      sampler,
      noise: (shape) => {
        draws++;
        return gen.randn(shape);
      },
      model: async (call) => {
        calls.push(call);
        return new Float32Array(call.x.length).fill(0.1);
      },
    });
    expect(draws).toBe(6);
    expect(calls.map((c) => c.r[0])).toEqual([...diffusersTimesteps(5).subarray(0, 5)]);
    expect(calls.every((c) => !c.guided && c.shape[0] === 1)).toBe(true);
    expect(out.result).toBe(out.x);
  });

  it('official preset: Stage C shift 2, Stage B shift 1, rho 0.7, r = noise cond, result = last x0', async () => {
    expect(SAMPLER_PRESETS.official.stageC).toEqual({ kind: 'gdf', shift: 2, rho: 0.7, rMode: 'noiseCond', output: 'x0' });
    expect(SAMPLER_PRESETS.official.stageB).toMatchObject({ shift: 1, rho: 0.7 });
    const sched = createStageSampler(SAMPLER_PRESETS.official.stageB, 10, 1.1);
    expect(sched.modelTime(0)).toBeCloseTo(0.993583, 6);
    expect(sched.modelTime(1)).toBeCloseTo(0.9, 6);
    const out = await sampleStage({
      shape: [1, 1, 4, 4],
      steps: 3,
      cfg: 4,
      sampler: SAMPLER_PRESETS.official.stageC,
      noise: (shape) => new TorchGenerator(1).randn(shape),
      model: async (call) => {
        expect(call.guided).toBe(true);
        expect(call.shape).toEqual([2, 1, 4, 4]);
        return Float32Array.from(call.x, (v, i) => (i < 16 ? 0.5 * v : -0.1 * v));
      },
    });
    expect(out.result).toBe(out.x0);
  });

  it('stops when aborted', async () => {
    const ctl = new AbortController();
    ctl.abort(new Error('cancelled'));
    await expect(sampleStage({
      shape: [1, 16], steps: 2, cfg: null, sampler: SAMPLER_PRESETS.official.stageB, signal: ctl.signal,
      noise: (shape) => new Float32Array(shape[0] * shape[1]),
      model: async (call) => call.x,
    })).rejects.toThrow('cancelled');
  });
});
