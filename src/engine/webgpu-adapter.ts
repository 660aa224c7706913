/**
 * Browser-side backend selection: ask WebGPU for an adapter, describe it, and decide between onnxruntime-web's
 * 'webgpu' and 'wasm' execution providers. Pure decisions with their reasons; throwing the user-facing error
 * is the caller's business (src/client owns the error classes, and engine code never imports client code).
 *
 * The project's TypeScript lib has no WebGPU types, so the few members used are declared here.
 */
import { formatBytes } from '../core/format-bytes.ts';

/** The slice of GPUAdapter read here. */
export interface GpuAdapterLike {
  readonly features: { has(name: string): boolean };
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number };
  readonly info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  /** Older Chromium put the flag on the adapter rather than on `info`. */
  readonly isFallbackAdapter?: boolean;
}

/** The slice of GPUDevice read here. */
export interface GpuDeviceLike {
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxBufferSize: number };
  readonly lost: Promise<{ reason: string; message: string }>;
}

export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

/** What the page shows and logs about the adapter. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  /** A software/CPU adapter (SwiftShader in headless Chromium): correct but ~100× slower than WASM. */
  isFallbackAdapter: boolean;
  /** fp16 shaders; without it fp16 packages cannot run on WebGPU (onnxruntime-web/webgpu throws). */
  shaderF16: boolean;
  /** Bytes; the largest buffer one shader can bind (tiled Stage A decode keys on this). */
  maxStorageBufferBindingSize: number;
  /** Bytes; the largest buffer the device can create. */
  maxBufferSize: number;
}

export type BackendPreference = 'auto' | 'webgpu' | 'wasm';
export type BrowserBackend = 'webgpu' | 'wasm';

export interface BackendDecision {
  backend: BrowserBackend;
  /** One sentence naming why (shown in the backend log event). */
  reason: string;
  adapter?: AdapterReport;
  /** Set when WebGPU was required ('webgpu') but is unavailable: why; `backend` is then meaningless. */
  webgpuUnavailable?: string;
}

export function describeAdapter(adapter: GpuAdapterLike): AdapterReport {
  return {
    vendor: adapter.info?.vendor ?? '',
    architecture: adapter.info?.architecture ?? '',
    description: adapter.info?.description ?? '',
    isFallbackAdapter: adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    shaderF16: adapter.features.has('shader-f16'),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** Asks for an adapter; `unavailable` says why there is none (no navigator.gpu, null adapter, or an exception). */
export async function probeWebGPU(gpu: GpuLike | undefined = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu): Promise<{ adapter?: AdapterReport; unavailable?: string }> {
  if (!gpu) return { unavailable: 'navigator.gpu is missing (this browser or context has no WebGPU)' };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { unavailable: 'navigator.gpu.requestAdapter() returned null (WebGPU disabled or GPU blocklisted)' };
    return { adapter: describeAdapter(adapter) };
  } catch (e) {
    return { unavailable: `navigator.gpu.requestAdapter() threw: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export function formatAdapter(a: AdapterReport): string {
  const mib = (n: number) => formatBytes(n, { unit: 'MiB', digits: 0 });
  return `${a.vendor || '?'}/${a.architecture || '?'}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}, shader-f16 ${a.shaderF16 ? 'yes' : 'no'}, ` +
    `maxStorageBufferBindingSize ${mib(a.maxStorageBufferBindingSize)}, maxBufferSize ${mib(a.maxBufferSize)}`;
}

/**
 * 'auto': WebGPU when a hardware adapter exists, otherwise WASM — a software fallback adapter (SwiftShader,
 * WARP) runs these models 40–100× slower than WASM (docs/platform-notes Q4), so 'auto' does not take it.
 * 'wasm': WASM without probing. 'webgpu': WebGPU on any adapter, or `webgpuUnavailable` set when there is none
 * (the caller turns that into WebGPUUnavailableError).
 */
export async function chooseBackend(preference: BackendPreference, gpu?: GpuLike): Promise<BackendDecision> {
  if (preference === 'wasm') return { backend: 'wasm', reason: 'WASM was requested' };
  const probe = await probeWebGPU(...(gpu ? [gpu] : []));
  if (probe.adapter) {
    if (preference === 'auto' && probe.adapter.isFallbackAdapter) {
      return { backend: 'wasm', reason: `using WASM: the only WebGPU adapter is a software fallback (${formatAdapter(probe.adapter)}), far slower than WASM`, adapter: probe.adapter };
    }
    const why = preference === 'webgpu' ? 'WebGPU was requested' : 'WebGPU has a hardware adapter';
    return { backend: 'webgpu', reason: `${why}: ${formatAdapter(probe.adapter)}`, adapter: probe.adapter };
  }
  if (preference === 'webgpu') return { backend: 'webgpu', reason: probe.unavailable!, webgpuUnavailable: probe.unavailable };
  return { backend: 'wasm', reason: `falling back to WASM: ${probe.unavailable}` };
}

/** The buffer size a single tensor must fit on this device (the smaller of the two limits). */
export function maxBindingBytes(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
}

/**
 * WASM threads: more than one needs SharedArrayBuffer, i.e. a cross-origin-isolated context (COOP/COEP, see
 * vite.config.ts); without isolation onnxruntime-web would warn and use one anyway. Capped at 4: the session's
 * thread pool competes with the page, and the gain flattens beyond that for these models.
 */
export function wasmThreadCount(isolated: boolean, hardwareConcurrency: number | undefined): number {
  return isolated ? Math.max(1, Math.min(4, hardwareConcurrency ?? 1)) : 1;
}

/** Calls `onLost` once if the device is lost (not when it is destroyed on purpose). */
export function watchDeviceLost(device: GpuDeviceLike, onLost: (reason: string) => void): void {
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') onLost(info.message || info.reason || 'unknown reason');
  });
}
