import { describe, expect, it } from 'vitest';
import { defaultPrecision, defaultResidency, loadResidency, recommend, WASM_HEAP_BYTES } from './placement.ts';
import type { AdapterReport, BackendDecision } from './webgpu-adapter.ts';

const GiB = 2 ** 30;
const adapter = (shaderF16: boolean): AdapterReport => ({
  vendor: 'v', architecture: 'a', description: '', isFallbackAdapter: false, shaderF16,
  maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20,
});
/** SoteDiffusion v2's converted sizes (README table). */
const sote = { fp32: 21.6 * GiB, fp16: 10.8 * GiB, int8: 6.2 * GiB, int4: 3.5 * GiB };

describe('defaultPrecision', () => {
  it('1. takes the only precision a descriptor lists, whatever the device', () => {
    for (const backend of ['webgpu', 'wasm'] as const) {
      expect(defaultPrecision({ int4: 3 * GiB }, backend, adapter(true))).toEqual({ precision: 'int4', reason: 'the only precision this model lists' });
      expect(defaultPrecision({ fp32: 40 * GiB }, backend, undefined)).toEqual({ precision: 'fp32', reason: 'the only precision this model lists' });
    }
  });

  it('2. keeps fp32 for a small model (≤ 1 GiB), even on WASM or without shader-f16', () => {
    const small = { fp32: GiB, fp16: GiB / 2 };
    for (const [backend, a] of [['webgpu', adapter(false)], ['webgpu', adapter(true)], ['wasm', undefined]] as const) {
      expect(defaultPrecision(small, backend, a)).toEqual({ precision: 'fp32', reason: 'the model is small: full precision costs little' });
    }
    // Just over the limit: rule 2 no longer applies.
    expect(defaultPrecision({ fp32: GiB + 1, fp16: GiB / 2 }, 'webgpu', adapter(true)).precision).toBe('fp16');
  });

  it('3. picks fp16 on WebGPU with shader-f16', () => {
    expect(defaultPrecision(sote, 'webgpu', adapter(true))).toEqual({ precision: 'fp16', reason: 'the GPU supports shader-f16: half the size of fp32 at native speed' });
  });

  it('4. picks int8 on WebGPU without shader-f16 (or without an adapter report)', () => {
    const expected = { precision: 'int8', reason: 'the GPU lacks shader-f16 (fp16 cannot run) and fp32 is too large: 8-bit weights, fp32 math' };
    expect(defaultPrecision(sote, 'webgpu', adapter(false))).toEqual(expected);
    expect(defaultPrecision(sote, 'webgpu', undefined)).toEqual(expected);
  });

  it('5. picks int8 on WASM when it fits half the wasm32 heap, else int4', () => {
    const int8 = { precision: 'int8', reason: 'CPU (WASM): 8-bit weights fit the 4 GiB wasm32 heap' };
    const int4 = { precision: 'int4', reason: 'CPU (WASM): the 4 GiB wasm32 heap needs 4-bit weights for this model' };
    expect(defaultPrecision({ ...sote, int8: WASM_HEAP_BYTES / 2 }, 'wasm', undefined)).toEqual(int8);
    expect(defaultPrecision({ ...sote, int8: WASM_HEAP_BYTES / 2 + 1 }, 'wasm', undefined)).toEqual(int4);
    expect(defaultPrecision(sote, 'wasm', undefined)).toEqual(int4);
    // No int8 size known: int4, the one that surely fits.
    expect(defaultPrecision({ fp32: 8 * GiB, fp16: 4 * GiB }, 'wasm', undefined)).toEqual(int4);
  });

  it('without a descriptor follows the device rules (3–5)', () => {
    expect(defaultPrecision(undefined, 'webgpu', adapter(true)).precision).toBe('fp16');
    expect(defaultPrecision(undefined, 'webgpu', adapter(false)).precision).toBe('int8');
    expect(defaultPrecision(undefined, 'wasm', undefined).precision).toBe('int4');
    expect(defaultPrecision({}, 'wasm', undefined).precision).toBe('int4');
  });
});

describe('defaultResidency', () => {
  it('WASM: the budget is the 4 GiB heap; "all" up to half of it, "sequential" beyond', () => {
    expect(defaultResidency(2 * GiB, 'wasm', 8)).toEqual({
      residency: 'all',
      reason: 'the package (2.00 GiB) fits half the wasm memory budget (4.00 GiB): every network stays resident',
    });
    expect(defaultResidency(2 * GiB + 1, 'wasm', 8)).toEqual({
      residency: 'sequential',
      reason: 'the package (2.00 GiB) exceeds half the wasm memory budget (4.00 GiB): each network is released after its stage',
    });
  });

  it('WebGPU: the budget is navigator.deviceMemory, 4 GiB when the browser does not say', () => {
    expect(defaultResidency(3.5 * GiB, 'webgpu', 8)).toEqual({
      residency: 'all',
      reason: 'the package (3.50 GiB) fits half the webgpu memory budget (8.00 GiB): every network stays resident',
    });
    expect(defaultResidency(3.5 * GiB, 'webgpu', undefined)).toEqual({
      residency: 'sequential',
      reason: 'the package (3.50 GiB) exceeds half the webgpu memory budget (4.00 GiB): each network is released after its stage',
    });
    expect(defaultResidency(3.5 * GiB, 'webgpu', 2).residency).toBe('sequential');
  });
});

describe('loadResidency', () => {
  it('a requested residency wins and is not explained', () => {
    expect(loadResidency('sequential', 1, 'wasm', undefined)).toEqual({ residency: 'sequential' });
    expect(loadResidency('all', 100 * GiB, 'webgpu', undefined)).toEqual({ residency: 'all' });
    expect(loadResidency('sequential', undefined, 'wasm', undefined)).toEqual({ residency: 'sequential' });
  });

  it('an installed package (size known) follows the rule, with its reason', () => {
    expect(loadResidency(undefined, 3 * GiB, 'wasm', undefined)).toEqual(defaultResidency(3 * GiB, 'wasm', undefined));
    expect(loadResidency(undefined, GiB, 'webgpu', 8)).toEqual(defaultResidency(GiB, 'webgpu', 8));
  });

  it('a URL package (size unknown before its manifest) keeps "all"', () => {
    expect(loadResidency(undefined, undefined, 'wasm', undefined)).toEqual({ residency: 'all' });
  });
});

describe('recommend', () => {
  const webgpu: BackendDecision = { backend: 'webgpu', reason: 'WebGPU has a hardware adapter: …', adapter: adapter(true) };
  const wasm: BackendDecision = { backend: 'wasm', reason: 'falling back to WASM: navigator.gpu is missing' };

  it('combines the precision rule with the residency of that precision\'s package', () => {
    expect(recommend(webgpu, sote, 8)).toEqual({
      backend: 'webgpu',
      adapter: adapter(true),
      precision: 'fp16',
      precisionReason: defaultPrecision(sote, 'webgpu', adapter(true)).reason,
      residency: 'sequential',
      residencyReason: defaultResidency(sote.fp16, 'webgpu', 8).reason,
    });
  });

  it('on WASM reports why WebGPU is not used', () => {
    const r = recommend(wasm, { ...sote, int8: 1.5 * GiB }, undefined);
    expect(r).toEqual({
      backend: 'wasm',
      webgpuUnavailable: wasm.reason,
      precision: 'int8',
      precisionReason: 'CPU (WASM): 8-bit weights fit the 4 GiB wasm32 heap',
      residency: 'all',
      residencyReason: defaultResidency(1.5 * GiB, 'wasm', undefined).reason,
    });
  });

  it('without a descriptor sizes the package at 0 bytes (every network resident)', () => {
    const r = recommend(wasm, undefined, undefined);
    expect(r.precision).toBe('int4');
    expect(r.residency).toBe('all');
    expect(r.residencyReason).toContain('(0.00 GiB)');
  });
});
