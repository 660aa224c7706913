/**
 * PyTorch's CPU random number generator (`torch.Generator('cpu')`, also the global generator behind
 * `torch.manual_seed` / `torch.randn`), reproduced so the browser can draw the same initial latents and sampler
 * noise as a PyTorch CPU reference run with the same seed (spec §8).
 *
 * Engine: a standard 32-bit MT19937 seeded with init_genrand(low 32 bits of the seed); the output stream equals
 * std::mt19937 with that seed. PyTorch keeps only the low 32 bits, so seeds 7 and 2^32 + 7 give the same numbers.
 *
 * float32 `randn` follows the "scalar" kernel (ATEN_CPU_CAPABILITY=default, plain C++ float math), which is what
 * the golden sampling noise uses. The AVX2 kernel of x86 PyTorch builds differs by up to ~2e-6 in ~40 % of the
 * elements (polynomial log/sin/cos) and is not emulated. Every float32 intermediate of the C++ code is rounded with
 * Math.fround; the only remaining difference is that glibc's logf/cosf/sinf are not always correctly rounded while
 * Math.log/cos/sin rounded to float32 almost always are, which costs at most one float32 ulp in rare elements.
 */

/** PyTorch's default CPU seed (c10::detail::default_rng_seed_val), used when no seed is given. */
export const TORCH_DEFAULT_SEED = 67280421310721n;

const MT_N = 624;
const MT_M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

const TWO_POW_24 = 16777216;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const MAX_SEED = (1n << 64n) - 1n;

/** Seeds accepted by {@link TorchGenerator}: an integer in 0 … 2^64 − 1 (use bigint above 2^53). */
export type TorchSeed = number | bigint;

/** Validates a seed and returns it as a bigint in 0 … 2^64 − 1. Throws a descriptive Error otherwise. */
export function normalizeSeed(seed: TorchSeed): bigint {
  let big: bigint;
  if (typeof seed === 'bigint') {
    big = seed;
  } else {
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    if (!Number.isSafeInteger(seed)) throw new Error(`seed ${seed} is not exactly representable as a number; pass a bigint`);
    big = BigInt(seed);
  }
  if (big < 0n || big > MAX_SEED) throw new Error(`seed must be in 0 … 2^64−1, got ${big}`);
  return big;
}

/** Number of elements of a shape; validates that every dimension is a non-negative integer. */
export function shapeNumel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape ${JSON.stringify(shape)}: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

const fround = Math.fround;

export class TorchGenerator {
  /** MT19937 state, 624 words. */
  private readonly mt = new Uint32Array(MT_N);
  /** Index of the next word of `mt` to temper; MT_N means "twist before the next output". */
  private mti = MT_N;
  /**
   * Second value of the last double-precision Box-Muller pair (PyTorch's next_double_normal_sample). Used only by
   * randn of fewer than 16 elements; it survives across randn calls and is cleared by reseeding, as in PyTorch.
   */
  private cachedNormal: number | null = null;
  private seedValue: bigint = TORCH_DEFAULT_SEED;

  constructor(seed: TorchSeed = TORCH_DEFAULT_SEED) {
    this.manualSeed(seed);
  }

  /** The seed last passed to manualSeed (the full value, although only its low 32 bits matter). */
  get initialSeed(): bigint {
    return this.seedValue;
  }

  /** `generator.manual_seed(seed)`: restarts the stream and forgets the cached normal value. */
  manualSeed(seed: TorchSeed): this {
    const big = normalizeSeed(seed);
    this.seedValue = big;
    const mt = this.mt;
    mt[0] = Number(big & 0xffffffffn);
    for (let j = 1; j < MT_N; j++) {
      const prev = mt[j - 1] ^ (mt[j - 1] >>> 30);
      // 1812433253 * prev + j (mod 2^32); Math.imul keeps the low 32 bits exactly.
      mt[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
    this.mti = MT_N; // PyTorch sets left_ = 1: the first output comes after one twist.
    this.cachedNormal = null;
    return this;
  }

  private twist(): void {
    const mt = this.mt;
    let kk = 0;
    for (; kk < MT_N - MT_M; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + MT_M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < MT_N - 1; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[MT_N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[MT_N - 1] = mt[MT_M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.mti = 0;
  }

  /** One 32-bit output (0 … 2^32 − 1), `generator->random()`. */
  random(): number {
    if (this.mti >= MT_N) this.twist();
    let y = this.mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `generator->random64()`: two outputs, the first in the high 32 bits. */
  random64(): bigint {
    const hi = this.random();
    const lo = this.random();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** uniform_real_distribution<float>(0, 1): low 24 bits of one output / 2^24, exact in float32, in [0, 1). */
  private uniformFloat(): number {
    return (this.random() & 0xffffff) / TWO_POW_24;
  }

  /** uniform_real_distribution<double>(0, 1): low 53 bits of random64() / 2^53 (exact in float64), in [0, 1). */
  private uniformDouble(): number {
    const hi = this.random();
    const lo = this.random();
    // Low 53 bits of (hi << 32 | lo) = low 21 bits of hi, then lo; the sum is < 2^53 so it is exact.
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) / TWO_POW_53;
  }

  /** at::normal_distribution<double>(0, 1) with PyTorch's cached second value. Returns a float64. */
  private normalDouble(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /**
   * `torch.rand(shape)` in float32: one 32-bit draw per element in row-major order, values in [0, 1).
   * @returns Float32Array of numel(shape) values, row-major.
   */
  rand(shape: readonly number[]): Float32Array {
    const n = shapeNumel(shape);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
    return out;
  }

  /**
   * `torch.randn(shape)` in float32 on CPU with the scalar kernel (contiguous output).
   * numel ≥ 16: normal_fill (one 32-bit draw per element, plus 16 more when numel % 16 ≠ 0);
   * numel < 16: the serial double-precision Box-Muller (two random64 per pair, second value cached).
   * @returns Float32Array of numel(shape) values, row-major.
   */
  randn(shape: readonly number[]): Float32Array {
    const n = shapeNumel(shape);
    const out = new Float32Array(n);
    if (n >= 16) {
      for (let i = 0; i < n; i++) out[i] = this.uniformFloat();
      for (let i = 0; i + 16 <= n; i += 16) normalFill16(out, i);
      if (n % 16 !== 0) {
        // PyTorch refills the LAST 16 slots with fresh uniforms and transforms them again, overwriting the
        // overlap with the final full block.
        const start = n - 16;
        for (let i = 0; i < 16; i++) out[start + i] = this.uniformFloat();
        normalFill16(out, start);
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = this.normalDouble(); // Float32Array store rounds like static_cast<float>.
    }
    return out;
  }
}

/**
 * Box-Muller on one block of 16 uniforms, in place (aten normal_fill_16 with mean 0, std 1, scalar_t = float).
 * Invariant on entry: data[at … at+15] hold multiples of 2^-24 in [0, 1), so 1 − u is exact and lies in (0, 1].
 */
function normalFill16(data: Float32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = 1 - data[at + j];
    const u2 = data[at + j + 8];
    // float radius = std::sqrt(-2 * std::log(u1)): logf, exact doubling, sqrtf.
    const radius = fround(Math.sqrt(-2 * fround(Math.log(u1))));
    // float theta = 2.0f * pi<double> * u2: the product is formed in double, then narrowed to float.
    const theta = fround(2 * Math.PI * u2);
    // radius * cosf(theta) * std + mean with std 1, mean 0: only the float product rounds.
    data[at + j] = fround(radius * fround(Math.cos(theta)));
    data[at + j + 8] = fround(radius * fround(Math.sin(theta)));
  }
}
