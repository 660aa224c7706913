import { describe, expect, it } from 'vitest';
import { maxAbsDiff, needsGolden, openGolden } from '../testing/golden.ts';
import { normalizeSeed, TorchGenerator } from './torch-generator.ts';

const RNG = 'rng_torch_cpu.safetensors';

/** Golden tensor names: "randn.scalar.s<seed>.<shape>.<part>" and "rand.s<seed>.<shape>.<part>". */
const NAME = /^(randn\.scalar|rand)\.s(\d+)\.([\dx]+)\.(first64|last64|stride997|full)$/;

/** Picks the stored part out of a full draw: first64, last64, stride997 (flat 0, 997, 1994, …) or full. */
function part(all: Float32Array, which: string, length: number): Float32Array {
  switch (which) {
    case 'first64': return all.subarray(0, length);
    case 'last64': return all.subarray(all.length - length);
    case 'stride997': return Float32Array.from({ length }, (_, i) => all[i * 997]);
    default: return all;
  }
}

describe('TorchGenerator', () => {
  it('produces the std::mt19937 reference stream (10000th output of seed 5489 is 4123659995)', () => {
    const g = new TorchGenerator(5489);
    let v = 0;
    for (let i = 0; i < 10000; i++) v = g.random();
    expect(v).toBe(4123659995);
  });

  it('keeps only the low 32 bits of the seed and restarts on manualSeed', () => {
    const a = new TorchGenerator(4294967295).randn([40]);
    const b = new TorchGenerator(4294967295n + 2n ** 32n).randn([40]);
    expect(b).toEqual(a);
    expect(new TorchGenerator((1n << 64n) - 1n).randn([40])).toEqual(a);
    const g = new TorchGenerator(7);
    const first = g.randn([5]); // leaves a cached normal behind
    g.manualSeed(7n);
    expect(g.randn([5])).toEqual(first);
    expect(g.initialSeed).toBe(7n);
  });

  it('random64 puts the first 32-bit output in the high half', () => {
    const g1 = new TorchGenerator(3);
    const hi = g1.random();
    const lo = g1.random();
    expect(new TorchGenerator(3).random64()).toBe((BigInt(hi) << 32n) | BigInt(lo));
  });

  it('rejects invalid seeds and shapes', () => {
    expect(() => normalizeSeed(-1)).toThrow(/0 … 2\^64/);
    expect(() => normalizeSeed(1n << 64n)).toThrow(/0 … 2\^64/);
    expect(() => normalizeSeed(1.5)).toThrow(/integer/);
    expect(() => normalizeSeed(2 ** 60)).toThrow(/bigint/);
    expect(() => new TorchGenerator(1).randn([2, -1])).toThrow(/shape/);
  });

  it('continues the stream across draws (numel ≥ 16 uses numel words, +16 when not a multiple of 16)', () => {
    const g = new TorchGenerator(11);
    g.randn([32]);
    g.randn([17]); // 17 + 16 words
    const next = g.random();
    const ref = new TorchGenerator(11);
    for (let i = 0; i < 32 + 17 + 16; i++) ref.random();
    expect(next).toBe(ref.random());
  });

  it('matches every randn.scalar.* and rand.* golden entry within 1e-6', needsGolden(RNG), async () => {
    const file = await openGolden(RNG);
    let checked = 0;
    const entries = new Set<string>();
    let worst = 0;
    let worstName = '';
    for (const name of file.tensors.keys()) {
      const m = NAME.exec(name);
      if (!m) continue;
      const shape = m[3].split('x').map(Number);
      const g = new TorchGenerator(BigInt(m[2]));
      const all = m[1] === 'rand' ? g.rand(shape) : g.randn(shape);
      const ref = await file.readFloat32(name);
      const d = maxAbsDiff(part(all, m[4], ref.length), ref);
      if (d > worst) {
        worst = d;
        worstName = name;
      }
      expect(d, name).toBeLessThanOrEqual(1e-6);
      if (m[1] === 'rand' || shape.reduce((a, b) => a * b, 1) < 16) expect(d, `${name} must be exact`).toBe(0);
      checked++;
      entries.add(`${m[1]}.${m[2]}.${m[3]}`);
    }
    console.log(`rng golden: ${checked} entries, max |diff| ${worst.toExponential(3)} (${worstName})`);
    // randn: 5 seeds × 5 shapes, rand: 2 seeds × 5 shapes; 86 stored parts in all.
    expect(entries.size).toBe(35);
    expect(checked).toBe(86);
  });
});
