/**
 * Where and how a model runs on this device: the default precision of a converted package and whether every
 * network stays resident. Pure rules with the reason shown to the user; the generator worker feeds them the
 * backend decision (webgpu-adapter.ts), the descriptor's package sizes and navigator.deviceMemory.
 */
import type { Precision } from '../models/model-context.ts';
import type { AdapterReport, BackendDecision, BrowserBackend } from './webgpu-adapter.ts';

/** 'all': every network stays loaded; 'sequential': each network is released after its stage. */
export type Residency = 'all' | 'sequential';

/** Converted package bytes per precision (a model descriptor's `sizes`). */
export type PackageSizes = Partial<Record<Precision, number>>;

/** The defaults for a model on this device, with the reasons shown to the user. */
export interface Recommendation {
  backend: BrowserBackend;
  adapter?: AdapterReport;
  /** Why WebGPU is not used (no navigator.gpu, no adapter, fallback adapter…); undefined when it is. */
  webgpuUnavailable?: string;
  precision: Precision;
  precisionReason: string;
  residency: Residency;
  residencyReason: string;
}

const GiB = 2 ** 30;
/** wasm32 linear memory cannot exceed 4 GiB; every WASM session's weights and activations share it. */
export const WASM_HEAP_BYTES = 4 * GiB;
/** navigator.deviceMemory when the browser does not report it (GiB). */
export const DEFAULT_DEVICE_MEMORY_GIB = 4;

/** navigator.deviceMemory in GiB (Chromium reports at most 8), undefined where the browser hides it. */
export function deviceMemoryGiB(): number | undefined {
  return (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
}

/**
 * Default precision of a converted package, first rule that applies (`sizes` undefined: no descriptor):
 * 1. the descriptor sizes only one precision (a pre-converted package, or an author who tested just that) → it;
 * 2. the fp32 package is small (≤ 1 GiB: demos, test fixtures) → fp32: exact, and memory is not a concern;
 * 3. WebGPU with shader-f16 → fp16: half of fp32's bytes and native half math (SoteDiffusion v2: 10.8 GiB);
 * 4. WebGPU without shader-f16 → int8: fp16 packages cannot run there (onnxruntime-web/webgpu needs f16
 *    shaders), and fp32 (21.6 GiB) exceeds any realistic GPU budget; int8 weights are MatMulNBits blocks
 *    dequantized in the kernel, activations stay fp32;
 * 5. WASM → int8 when its package fits half the 4 GiB wasm32 heap, otherwise int4 (also MatMulNBits): with
 *    sequential residency the largest network (Stage C, ~60 % of the package) must fit next to its
 *    activations (src/engine/memory-plan.ts estimates) — SoteDiffusion v2 int8 is 6.3 GiB, int4 3.7 GiB.
 */
export function defaultPrecision(sizes: PackageSizes | undefined, backend: BrowserBackend, adapter: AdapterReport | undefined): { precision: Precision; reason: string } {
  const listed = Object.keys(sizes ?? {}) as Precision[];
  if (listed.length === 1) return { precision: listed[0], reason: `the only precision this model lists` };
  if ((sizes?.fp32 ?? Number.POSITIVE_INFINITY) <= GiB) return { precision: 'fp32', reason: 'the model is small: full precision costs little' };
  if (backend === 'webgpu' && adapter?.shaderF16) return { precision: 'fp16', reason: 'the GPU supports shader-f16: half the size of fp32 at native speed' };
  if (backend === 'webgpu') return { precision: 'int8', reason: 'the GPU lacks shader-f16 (fp16 cannot run) and fp32 is too large: 8-bit weights, fp32 math' };
  const int8 = sizes?.int8;
  if (int8 !== undefined && int8 <= WASM_HEAP_BYTES / 2) return { precision: 'int8', reason: 'CPU (WASM): 8-bit weights fit the 4 GiB wasm32 heap' };
  return { precision: 'int4', reason: 'CPU (WASM): the 4 GiB wasm32 heap needs 4-bit weights for this model' };
}

/**
 * Residency rule (documented in the UI): keep every network resident unless the package is larger than half
 * the memory budget, then 'sequential' (each network is released after its stage; Stage C's weights are gone
 * before Stage B loads). The budget is the wasm32 heap (4 GiB) on WASM; on WebGPU, which exposes no memory
 * size, it is navigator.deviceMemory (GiB; Chromium reports at most 8, default 4 when absent) — unified-memory
 * and integrated GPUs share it, and a discrete GPU with more VRAM merely reloads a few stages. Half, because
 * activations (memory-plan.ts: ±30 %), the browser and other tabs need the rest.
 */
export function defaultResidency(packageBytes: number, backend: BrowserBackend, deviceMemory: number | undefined): { residency: Residency; reason: string } {
  const budget = backend === 'wasm' ? WASM_HEAP_BYTES : (deviceMemory ?? DEFAULT_DEVICE_MEMORY_GIB) * GiB;
  const gib = (n: number) => `${(n / GiB).toFixed(2)} GiB`;
  return packageBytes > budget / 2
    ? { residency: 'sequential', reason: `the package (${gib(packageBytes)}) exceeds half the ${backend} memory budget (${gib(budget)}): each network is released after its stage` }
    : { residency: 'all', reason: `the package (${gib(packageBytes)}) fits half the ${backend} memory budget (${gib(budget)}): every network stays resident` };
}

/**
 * The residency a load uses: the requested one, else the rule for a package of known size (an installed
 * model); a package whose size is known only after its manifest (a URL package: the demo) keeps 'all'.
 * `reason` is set only when the rule decided (the worker logs it).
 */
export function loadResidency(requested: Residency | undefined, packageBytes: number | undefined, backend: BrowserBackend, deviceMemory: number | undefined): { residency: Residency; reason?: string } {
  if (packageBytes === undefined) return { residency: requested ?? 'all' };
  const rule = defaultResidency(packageBytes, backend, deviceMemory);
  return requested ? { residency: requested } : rule;
}

/** The defaults for a model of these package sizes (undefined: no descriptor) on the chosen backend. */
export function recommend(decision: BackendDecision, sizes: PackageSizes | undefined, deviceMemory: number | undefined): Recommendation {
  const p = defaultPrecision(sizes, decision.backend, decision.adapter);
  const r = defaultResidency(sizes?.[p.precision] ?? 0, decision.backend, deviceMemory);
  const probe = decision.backend === 'wasm' ? decision.reason : undefined;
  return {
    backend: decision.backend,
    ...(decision.adapter ? { adapter: decision.adapter } : {}),
    ...(probe ? { webgpuUnavailable: probe } : {}),
    precision: p.precision,
    precisionReason: p.reason,
    residency: r.residency,
    residencyReason: r.reason,
  };
}
