/**
 * Counts what onnxruntime-web's WebGPU EP asks of the GPU, by wrapping the WebGPU API in the page (both native-EP
 * builds reach the GPU through the page's `navigator.gpu` objects, so every call passes through here):
 *
 * - kernels: compute dispatches (dispatchWorkgroups / …Indirect), per pipeline label;
 * - CPU→GPU bytes: queue.writeBuffer into storage buffers + buffers created mappedAtCreation for MAP_WRITE
 *   (the EP's upload staging); writes into uniform buffers (per-dispatch shader parameters, a few bytes each)
 *   are counted apart, since they are not tensor traffic;
 * - GPU→CPU bytes: mapAsync(MAP_READ) ranges (the EP's read-back staging);
 * - live and peak bytes of GPU buffers (createBuffer − destroy).
 *
 * Invariant: install() runs before the first GPUDevice is requested, or buffers created earlier are not tracked.
 * Counters only ever grow (except live bytes); callers diff two snapshots around what they measure.
 */

export interface GpuCounters {
  dispatches: number;
  /** Dispatches per compute-pipeline label ('' when the EP gave none). */
  dispatchesByPipeline: Record<string, number>;
  computePasses: number;
  bufferCopies: number;
  submits: number;
  uploadBytes: number;
  uniformBytes: number;
  readbackBytes: number;
  liveBytes: number;
  peakBytes: number;
}

const state: GpuCounters = {
  dispatches: 0, dispatchesByPipeline: {}, computePasses: 0, bufferCopies: 0, submits: 0,
  uploadBytes: 0, uniformBytes: 0, readbackBytes: 0, liveBytes: 0, peakBytes: 0,
};

/** The WebGPU objects touched here (the project's TypeScript lib has no WebGPU types). */
type Fn = (...args: never[]) => unknown;
interface GpuBufferLike { readonly size: number }
interface BufferDescriptor { size: number; usage: number; mappedAtCreation?: boolean }
interface PipelineDescriptor { label?: string; compute: { module: { label?: string } } }
type Proto = Record<string, Fn>;
interface WebGpuGlobals {
  GPUDevice?: { prototype: Proto };
  GPUBuffer: { prototype: Proto };
  GPUQueue: { prototype: Proto };
  GPUCommandEncoder: { prototype: Proto };
  GPUComputePassEncoder: { prototype: Proto };
  GPUBufferUsage: { MAP_WRITE: number; UNIFORM: number };
  GPUMapMode: { READ: number };
}

const bufferInfo = new WeakMap<object, { size: number; usage: number; destroyed: boolean }>();
const pipelineLabel = new WeakMap<object, string>();
const passPipeline = new WeakMap<object, string>();
let installed = false;

/** Byte length of writeBuffer's data argument range (dataOffset/size count elements for typed arrays). */
function writeLength(data: ArrayBuffer | ArrayBufferView, dataOffset = 0, size?: number): number {
  const elem = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
  if (size !== undefined) return size * elem;
  return data.byteLength - dataOffset * elem;
}

function labelOf(d: PipelineDescriptor): string {
  return d.label || d.compute.module.label || '';
}

/** Replaces proto[name] with wrap(original); the wrapper is called with the original's `this`. */
function wrap<A extends unknown[], R>(proto: Proto, name: string, wrapper: (original: (this: object, ...a: A) => R) => (this: object, ...a: A) => R): void {
  const original = proto[name] as unknown as (this: object, ...a: A) => R;
  proto[name] = wrapper(original) as unknown as Fn;
}

/** Wraps the WebGPU prototypes once; a page without WebGPU gets nothing wrapped (the counters stay 0). */
export function installGpuCounters(): void {
  const w = globalThis as unknown as WebGpuGlobals;
  if (installed || !w.GPUDevice) return;
  installed = true;
  const device = w.GPUDevice.prototype;
  wrap<[BufferDescriptor], object>(device, 'createBuffer', (f) => function (d) {
    const buffer = f.call(this, d);
    bufferInfo.set(buffer, { size: d.size, usage: d.usage, destroyed: false });
    state.liveBytes += d.size;
    state.peakBytes = Math.max(state.peakBytes, state.liveBytes);
    if (d.mappedAtCreation && d.usage & w.GPUBufferUsage.MAP_WRITE) state.uploadBytes += d.size;
    return buffer;
  });
  wrap<[], unknown>(w.GPUBuffer.prototype, 'destroy', (f) => function () {
    const info = bufferInfo.get(this);
    if (info && !info.destroyed) {
      info.destroyed = true;
      state.liveBytes -= info.size;
    }
    return f.call(this);
  });
  wrap<[number, number?, number?], unknown>(w.GPUBuffer.prototype, 'mapAsync', (f) => function (mode, offset, size) {
    if (mode & w.GPUMapMode.READ) state.readbackBytes += size ?? (this as GpuBufferLike).size - (offset ?? 0);
    return f.call(this, mode, offset, size);
  });
  wrap<[object, number, ArrayBuffer | ArrayBufferView, number?, number?], unknown>(w.GPUQueue.prototype, 'writeBuffer', (f) => function (buffer, offset, data, dataOffset, size) {
    const n = writeLength(data, dataOffset, size);
    if ((bufferInfo.get(buffer)?.usage ?? 0) & w.GPUBufferUsage.UNIFORM) state.uniformBytes += n;
    else state.uploadBytes += n;
    return f.call(this, buffer, offset, data, dataOffset, size);
  });
  wrap<unknown[], unknown>(w.GPUQueue.prototype, 'submit', (f) => function (...a) {
    state.submits++;
    return f.apply(this, a);
  });
  wrap<[PipelineDescriptor], object>(device, 'createComputePipeline', (f) => function (d) {
    const p = f.call(this, d);
    pipelineLabel.set(p, labelOf(d));
    return p;
  });
  wrap<[PipelineDescriptor], Promise<object>>(device, 'createComputePipelineAsync', (f) => async function (this: object, d) {
    const p = await f.call(this, d);
    pipelineLabel.set(p, labelOf(d));
    return p;
  });
  wrap<unknown[], unknown>(w.GPUCommandEncoder.prototype, 'beginComputePass', (f) => function (...a) {
    state.computePasses++;
    return f.apply(this, a);
  });
  wrap<unknown[], unknown>(w.GPUCommandEncoder.prototype, 'copyBufferToBuffer', (f) => function (...a) {
    state.bufferCopies++;
    return f.apply(this, a);
  });
  const pass = w.GPUComputePassEncoder.prototype;
  wrap<[object], unknown>(pass, 'setPipeline', (f) => function (p) {
    passPipeline.set(this, pipelineLabel.get(p) ?? '');
    return f.call(this, p);
  });
  const count = (encoder: object) => {
    state.dispatches++;
    const label = passPipeline.get(encoder) ?? '';
    state.dispatchesByPipeline[label] = (state.dispatchesByPipeline[label] ?? 0) + 1;
  };
  for (const name of ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect']) {
    wrap<unknown[], unknown>(pass, name, (f) => function (...a) {
      count(this);
      return f.apply(this, a);
    });
  }
}

export function resetPeakBytes(): void {
  state.peakBytes = state.liveBytes;
}

export function gpuCounters(): GpuCounters {
  return { ...state, dispatchesByPipeline: { ...state.dispatchesByPipeline } };
}

/** after − before for the growing counters; live/peak bytes are taken from `after`. */
export function diffCounters(before: GpuCounters, after: GpuCounters): GpuCounters {
  const byPipeline: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.dispatchesByPipeline)) {
    const d = v - (before.dispatchesByPipeline[k] ?? 0);
    if (d) byPipeline[k] = d;
  }
  return {
    dispatches: after.dispatches - before.dispatches,
    dispatchesByPipeline: byPipeline,
    computePasses: after.computePasses - before.computePasses,
    bufferCopies: after.bufferCopies - before.bufferCopies,
    submits: after.submits - before.submits,
    uploadBytes: after.uploadBytes - before.uploadBytes,
    uniformBytes: after.uniformBytes - before.uniformBytes,
    readbackBytes: after.readbackBytes - before.readbackBytes,
    liveBytes: after.liveBytes,
    peakBytes: after.peakBytes,
  };
}
