/**
 * The GDF noise schedule of Stable Cascade (gdf/schedulers.py CosineSchedule, gdf/noise_conditions.py
 * CosineTNoiseCond, gdf/scalers.py VPScaler) and torch.linspace, emulated in float32 step by step (spec §7.1).
 *
 * Why float32 emulation: PyTorch evaluates all of this on float32 tensors, and the r value fed to the model is
 * multiplied by 10000 inside the r embedding, so one float32 ulp of r near 1 moves an embedding angle by ~6e-4.
 * A float64 evaluation differs from PyTorch by up to ~1.3e-6 in r and ~1.7e-4 in logSNR (golden README).
 * Every operation that PyTorch performs in float32 is therefore followed by Math.fround here; Python-float
 * scalars combined with a float32 tensor are first narrowed to float32, as TensorIterator does on CPU.
 * cos, log and exp use float64 Math.* rounded to float32 (correctly rounded), which is what PyTorch's scalar CPU
 * kernels give in all golden values. acos is different: glibc's acosf (x86-64 Linux, as used for the goldens) is
 * the fdlibm float algorithm, which is not correctly rounded in ~8 % of inputs, and the golden r for Stage B step 2
 * (0.6666667461) needs it, so {@link acosF32} reproduces that algorithm operation by operation.
 * Residual risk: glibc's logf/expf/cosf are not correctly rounded in rare inputs either (well under 1 %); step
 * counts other than the golden ones may then differ from PyTorch by one float32 ulp in logSNR.
 *
 * All functions work on plain numbers that are float32 values; arrays are Float32Array of length steps + 1.
 */

const f = Math.fround;

/** Cosine schedule offset s (float32, as torch.tensor([0.008])). */
export const COSINE_S = f(0.008);
const ONE_PLUS_S = f(1 + COSINE_S);
const PI_F32 = f(Math.PI);
/** Variance clamp of the official CosineSchedule(clamp_range=[0.0001, 0.9999]), as float32 (clamp narrows). */
const VAR_MIN = f(0.0001);
const VAR_MAX = f(0.9999);

/**
 * min_var = cos(s/(1+s)·π/2)² in float32 (CosineSchedule.setup / CosineTNoiseCond.setup):
 * `torch.cos(self.s / (1 + self.s) * torch.pi / 2) ** 2`.
 */
export const COSINE_MIN_VAR = (() => {
  const angle = f(f(COSINE_S / ONE_PLUS_S) * PI_F32) / 2; // halving is exact
  const c = f(Math.cos(angle));
  return f(c * c);
})();

/** cos(((s + t)/(1 + s))·π/2)² / min_var, unclamped variance, float32 (shared with the diffusers scheduler). */
export function cosineAlphaBarUnclamped(t: number, clampCos: boolean): number {
  const angle = f(f(f(COSINE_S + t) / ONE_PLUS_S) * PI_F32) * 0.5; // ×0.5 is exact
  let c = f(Math.cos(angle));
  if (clampCos) c = Math.min(Math.max(c, 0), 1);
  return f(f(c * c) / COSINE_MIN_VAR);
}

/** CosineSchedule.schedule(t) without shift and limits: logSNR = ln(v / (1 − v)), v clamped to [1e-4, 0.9999]. */
function rawLogSNR(t: number): number {
  const tc = Math.min(Math.max(f(t), 0), 1);
  let v = cosineAlphaBarUnclamped(tc, true);
  v = Math.min(Math.max(v, VAR_MIN), VAR_MAX);
  return f(Math.log(f(v / f(1 - v))));
}

/**
 * logSNR limits [logSNR(t=1), logSNR(t=0)] = [−9.2102404, +9.2100744] (float32). BaseSchedule.reset_limits computes
 * them once at construction with shift 1, so a shift at sampling time can push values into this clamp
 * (t = 1 with shift 2 gives −10.597, clamped back to −9.2102).
 */
export const LOGSNR_LIMITS: readonly [number, number] = [rawLogSNR(1), rawLogSNR(0)];

/**
 * CosineSchedule(t, shift): float32 logSNR for one float32 t.
 * Shift ≠ 1 adds 2·ln(1/shift) (a Python float narrowed to float32 before the float32 add), then clamps to
 * {@link LOGSNR_LIMITS}.
 */
export function cosineLogSNR(t: number, shift = 1): number {
  if (!(shift > 0)) throw new Error(`shift must be > 0, got ${shift}`);
  let logSNR = rawLogSNR(t);
  if (shift !== 1) logSNR = f(logSNR + f(2 * Math.log(1 / shift)));
  return Math.min(Math.max(logSNR, LOGSNR_LIMITS[0]), LOGSNR_LIMITS[1]);
}

/** torch.sigmoid in float32: 1 / (1 + exp(−x)). */
export function sigmoidF32(x: number): number {
  return f(1 / f(1 + f(Math.exp(-x))));
}

/**
 * CosineTNoiseCond(logSNR): the r ("timestep ratio") fed to Stage B / Stage C, float32, in [0, 1].
 * var = clamp(sigmoid(logSNR), 0, 1); r = acos(sqrt(var·min_var)) / (π/2) · (1 + s) − s; clamp to [0, 1].
 * With shift 1 this inverts the schedule except where the variance clamp acted (t = 1 → 0.99358324).
 */
export function cosineNoiseCond(logSNR: number): number {
  const v = Math.min(Math.max(sigmoidF32(logSNR), 0), 1);
  const root = f(Math.sqrt(f(v * COSINE_MIN_VAR))); // `** 0.5` is sqrt in PyTorch
  const ratio = f(acosF32(root) / f(Math.PI * 0.5));
  const r = f(f(ratio * ONE_PLUS_S) - COSINE_S);
  return Math.min(Math.max(r, 0), 1);
}

const bitsBuf = new Float32Array(1);
const bitsView = new Uint32Array(bitsBuf.buffer);
function f32Bits(x: number): number {
  bitsBuf[0] = x;
  return bitsView[0];
}
function f32FromBits(b: number): number {
  bitsView[0] = b >>> 0;
  return bitsBuf[0];
}

// fdlibm e_acosf.c constants (float32 bit patterns as in the C source).
const ACOS_PI = f32FromBits(0x40490fda);
const ACOS_PIO2_HI = f32FromBits(0x3fc90fda);
const ACOS_PIO2_LO = f32FromBits(0x33a22168);
const PS0 = f32FromBits(0x3e2aaaab);
const PS1 = f32FromBits(0xbea6b090);
const PS2 = f32FromBits(0x3e4e0aa8);
const PS3 = f32FromBits(0xbd241146);
const PS4 = f32FromBits(0x3a4f7f04);
const PS5 = f32FromBits(0x3811ef08);
const QS1 = f32FromBits(0xc019d139);
const QS2 = f32FromBits(0x4001572d);
const QS3 = f32FromBits(0xbf303361);
const QS4 = f32FromBits(0x3d9dc62e);

function acosP(z: number): number {
  return f(z * f(PS0 + f(z * f(PS1 + f(z * f(PS2 + f(z * f(PS3 + f(z * f(PS4 + f(z * PS5)))))))))));
}
function acosQ(z: number): number {
  return f(1 + f(z * f(QS1 + f(z * f(QS2 + f(z * f(QS3 + f(z * QS4))))))));
}

/**
 * acosf as implemented by fdlibm / glibc (sysdeps/ieee754/flt-32/e_acosf.c), every float operation rounded to
 * float32. Input: a float32 value; output: float32 acos. Needed because PyTorch's float32 acos calls it.
 */
export function acosF32(x: number): number {
  const hx = f32Bits(x) | 0;
  const ix = hx & 0x7fffffff;
  if (ix === 0x3f800000) return hx > 0 ? 0 : f(ACOS_PI + f(2 * ACOS_PIO2_LO));
  if (ix > 0x3f800000) return NaN;
  if (ix < 0x3f000000) {
    // |x| < 0.5
    if (ix <= 0x23000000) return f(ACOS_PIO2_HI + ACOS_PIO2_LO);
    const z = f(x * x);
    const r = f(acosP(z) / acosQ(z));
    return f(ACOS_PIO2_HI - f(x - f(ACOS_PIO2_LO - f(x * r))));
  }
  if (hx < 0) {
    // x < −0.5
    const z = f(f(1 + x) * 0.5);
    const s = f(Math.sqrt(z));
    const r = f(acosP(z) / acosQ(z));
    const w = f(f(r * s) - ACOS_PIO2_LO);
    return f(ACOS_PI - f(2 * f(s + w)));
  }
  // x > 0.5: df = s with the low 12 mantissa bits cleared, c corrects for them.
  const z = f(f(1 - x) * 0.5);
  const s = f(Math.sqrt(z));
  const df = f32FromBits(f32Bits(s) & 0xfffff000);
  const c = f(f(z - f(df * df)) / f(s + df));
  const r = f(acosP(z) / acosQ(z));
  const w = f(f(r * s) + c);
  return f(2 * f(df + w));
}

/** VPScaler(logSNR): a = sqrt(sigmoid(logSNR)), b = sqrt(1 − sigmoid(logSNR)), float32. */
export function vpScalers(logSNR: number): { a: number; b: number } {
  const a2 = sigmoidF32(logSNR);
  return { a: f(Math.sqrt(a2)), b: f(Math.sqrt(f(1 - a2))) };
}

/**
 * torch.linspace(start, end, steps) in float32 (CPU kernel): step = (end − start)/(steps − 1) in float32; the first
 * half (i < steps/2, integer division) is start + step·i, the second half end − step·(steps − 1 − i), each product
 * and sum rounded to float32. This makes the last value exactly `end` and the first exactly `start`.
 * (Newer PyTorch runs this kernel serially; torch 1.13's vectorised variant gives the same values whenever
 * steps < 32, which covers every setting tested against the goldens.)
 * @returns Float32Array [steps]
 */
export function linspaceF32(start: number, end: number, steps: number): Float32Array {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace steps must be a non-negative integer, got ${steps}`);
  const out = new Float32Array(steps);
  const s = f(start);
  const e = f(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f(f(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? f(s + f(step * i)) : f(e - f(step * (steps - 1 - i)));
  }
  return out;
}

/** All per-step schedule values of one GDF sampling run, each a Float32Array [steps + 1]. */
export interface GdfScheduleArrays {
  /** t_i = linspace(tStart, tEnd, steps + 1) (the gdf code calls it r_range). */
  t: Float32Array;
  /** logSNR_i = CosineSchedule(t_i, shift). */
  logSNR: Float32Array;
  /** r_i = CosineTNoiseCond(logSNR_i), the model's time input at step i. */
  noiseCond: Float32Array;
  /** VP scalers a_i, b_i of logSNR_i. */
  a: Float32Array;
  b: Float32Array;
}

/** The schedule arrays GDF.sample computes for `steps` steps (t_range, logSNR_range, noise_cond_range, a, b). */
export function gdfSchedule(steps: number, shift = 1, tStart = 1, tEnd = 0): GdfScheduleArrays {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const t = linspaceF32(tStart, tEnd, steps + 1);
  const logSNR = t.map((ti) => cosineLogSNR(ti, shift));
  const noiseCond = logSNR.map(cosineNoiseCond);
  const a = logSNR.map((l) => vpScalers(l).a);
  const b = logSNR.map((l) => vpScalers(l).b);
  return { t, logSNR, noiseCond, a, b };
}
