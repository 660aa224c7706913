import { describe, expect, it } from 'vitest';
import { maxAbsDiff, needsGolden, readGoldenJson } from '../../testing/golden.ts';
import {
  acosF32, COSINE_MIN_VAR, cosineLogSNR, cosineNoiseCond, gdfSchedule, linspaceF32, LOGSNR_LIMITS,
} from './cosine-schedule.ts';

interface StageSettings {
  timesteps: number;
  shift: number;
  t_range: number[];
  logSNR_range: number[];
  noise_cond_range: number[];
  a_range: number[];
  b_range: number[];
}
interface SamplingJson {
  stage_c: StageSettings;
  stage_b: StageSettings;
}

describe('cosine schedule (gdf, float32)', () => {
  it('has the spec constants', () => {
    // float32 of the float64 0.9998445910 (one float32 ulp is 6e-8 here)
    expect(Math.abs(COSINE_MIN_VAR - 0.999844591)).toBeLessThan(6e-8);
    expect(LOGSNR_LIMITS[0]).toBeCloseTo(-9.2102404, 6);
    expect(LOGSNR_LIMITS[1]).toBeCloseTo(9.2100744, 6);
  });

  it('linspace uses the two-sided torch formula (exact ends, float32 steps)', () => {
    const t = linspaceF32(1, 0, 7);
    expect(t[0]).toBe(1);
    expect(t[6]).toBe(0);
    expect(t[1]).toBe(Math.fround(0.8333333134651184));
    expect(t[5]).toBe(Math.fround(0.1666666716337204)); // end − step·1 differs from start + step·5
    expect([...linspaceF32(1, 0, 1)]).toEqual([1]);
  });

  for (const stage of ['stage_c', 'stage_b'] as const) {
    it(`reproduces ${stage} t/logSNR/noise_cond/a/b of sampling.json bit for bit`, needsGolden('sampling.json'), async () => {
      const s = (await readGoldenJson<SamplingJson>('sampling.json'))[stage];
      const g = gdfSchedule(s.timesteps, s.shift);
      const diffs = {
        t: maxAbsDiff(g.t, s.t_range),
        logSNR: maxAbsDiff(g.logSNR, s.logSNR_range),
        noiseCond: maxAbsDiff(g.noiseCond, s.noise_cond_range),
        a: maxAbsDiff(g.a, s.a_range),
        b: maxAbsDiff(g.b, s.b_range),
      };
      console.log(`${stage} schedule max |diff|`, JSON.stringify(diffs));
      for (const [k, d] of Object.entries(diffs)) expect(d, k).toBe(0);
    });
  }

  it('matches the spec §7.1 table for Stage C, 20 steps, shift 2', () => {
    const g = gdfSchedule(20, 2);
    const rows: [number, number, number, number][] = [
      // i, logSNR, r, a
      [0, -9.2102, 0.99358, 0.01],
      [1, -6.4863, 0.97496, 0.03901],
      [10, -1.4109, 0.70565, 0.44282],
      [19, 3.4349, 0.10627, 0.98427],
      [20, 7.8239, 0.00712, 0.9998],
    ];
    for (const [i, logSNR, r, a] of rows) {
      expect(g.logSNR[i]).toBeCloseTo(logSNR, 3);
      expect(g.noiseCond[i]).toBeCloseTo(r, 4);
      expect(g.a[i]).toBeCloseTo(a, 4);
    }
    // shift 1 inverts the schedule except where the variance clamp acted
    expect(cosineNoiseCond(cosineLogSNR(1))).toBeCloseTo(0.993583, 6);
    expect(cosineNoiseCond(cosineLogSNR(0))).toBeCloseTo(0.0022568, 6);
    expect(cosineNoiseCond(cosineLogSNR(Math.fround(0.3)))).toBeCloseTo(0.3, 6);
  });

  it('acosF32 (fdlibm) stays within one float32 ulp of the correctly rounded acos', () => {
    for (let i = -1000; i <= 1000; i++) {
      const x = Math.fround(i / 1000);
      const ref = Math.acos(x);
      expect(Math.abs(acosF32(x) - ref)).toBeLessThanOrEqual(2.4e-7 * Math.max(1, ref));
    }
    expect(acosF32(1)).toBe(0);
    expect(Number.isNaN(acosF32(1.5))).toBe(true);
  });
});
