/**
 * onnxruntime-web graph capture (session option `enableGraphCapture`, WebGPU EP) behind the plain EngineSession
 * interface, for sessions run many times with the same shapes (the Stage C / Stage B step networks).
 *
 * What onnxruntime-web 1.30 requires of a captured session (js/web/lib/wasm/wasm-core-impl.ts and the WebGPU EP):
 * - every input and every output is a 'gpu-buffer' tensor; outputs are pre-allocated and passed as `fetches`;
 * - inputs and outputs are bound once, on the first run, and never again: later runs replay the recorded kernels
 *   on the same buffers whatever tensors they are given. So the buffers are fixed per session and the data moves
 *   into them (a GPU→GPU copy for a GPU feed, queue.writeBuffer for a CPU feed such as r);
 * - the buffer handles the first run binds must outlive it. onnxruntime-web 1.30 registers a feed/fetch buffer
 *   with its WebGPU runtime for the length of each run only (`webgpuRegisterBuffer` … `webgpuUnregisterBuffer`,
 *   a reference count kept on the GPUBuffer under a private symbol), so the handles bound on the first run are
 *   released after it while the session's IO binding keeps referring to them; without a pin, the second run
 *   failed in createBindGroup ("'buffer' … Required member is undefined"). The capture therefore pins its own
 *   buffers' registration: one extra reference, so the handle lives as long as the buffer (pinRegistration);
 * - static shapes: a capture is valid for one set of input dims; other dims need a new session (re-capture);
 * - no node on another EP except CPU shape arithmetic without Memcpy nodes, no control flow: onnxruntime refuses
 *   such a session at creation, and the engine then creates it uncaptured (with a logged reason);
 * - no graph output may also feed another node: onnxruntime computes such an output in an internal buffer and
 *   copies it to the bound one, and a replay re-issues only compute dispatches, so from the second run on the
 *   output keeps its first value (measured on the sampler step graphs, e2e/webgpu-graph-capture.test.ts). This
 *   is not detected here: callers mark only graphs whose outputs are terminal (the step networks' `output`).
 *
 * Invariant: the tensors a captured run returns wrap this session's output buffers; they are valid until the
 * next run() or release() of this session (the step loop consumes ε within its step). Disposing them is a no-op.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { SoteError } from '../core/sote-error.ts';
import type { EngineSession } from './engine-session.ts';
import { align4, downloadBuffer, STORAGE_COPY, type CaptureGpuBuffer, type CaptureGpuDevice } from './graph-capture-gpu.ts';

export type { CaptureGpuBuffer, CaptureGpuDevice } from './graph-capture-gpu.ts';

export interface CaptureHost {
  /** Opens the model as a WebGPU session, with or without `enableGraphCapture`. */
  open(capture: boolean): Promise<InferenceSession>;
  /** The GPUDevice onnxruntime-web runs on (known once a WebGPU session exists). */
  device(): CaptureGpuDevice;
  /** `ort.Tensor.fromGpuBuffer` of the same onnxruntime module. */
  fromGpuBuffer(buffer: CaptureGpuBuffer, options: GpuTensorOptions): Tensor;
  /** Where the fallbacks and re-captures are reported (one line each). */
  log(message: string): void;
  /** Called when onnxruntime refuses capture for this graph at creation. */
  refused?(): void;
  /** Names the session in log lines (e.g. "stage_c"). */
  label: string;
}

export interface GpuTensorOptions {
  dataType: Tensor.GpuBufferDataTypes;
  dims: readonly number[];
  /** Reads the buffer back (engine.read / Tensor.getData of a captured output). */
  download?: () => Promise<Tensor.DataTypeMap[Tensor.GpuBufferDataTypes]>;
}

/** Raised inside this module when a run cannot be captured; the session then runs uncaptured for good. */
class NotCapturable extends Error {
  override name = 'NotCapturable';
}

interface Slot {
  buffer: CaptureGpuBuffer;
  tensor: Tensor;
  bytes: number;
  /** The feed last copied in (inputs): the same tensor object again needs no copy (tensors are immutable). */
  source?: Tensor;
}

interface Capture {
  session: InferenceSession;
  /** Input dims and types the capture was recorded for. */
  signature: string;
  inputs: Map<string, Slot>;
  outputs: Map<string, Slot>;
}

const BYTES: Partial<Record<Tensor.Type, number>> = { float32: 4, float16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, int8: 1, uint8: 1, bool: 1 };

function byteLength(type: Tensor.Type, dims: readonly number[]): number {
  const per = BYTES[type];
  if (per === undefined) throw new NotCapturable(`input/output type ${type} cannot live in a GPU buffer`);
  return per * dims.reduce((a, d) => a * d, 1);
}

function signatureOf(names: readonly string[], feeds: Record<string, Tensor>): string {
  return names.map((n) => `${n}:${feeds[n].type}[${feeds[n].dims.join(',')}]`).join(' ');
}

/**
 * Output dims from the model's declared output shapes, each symbolic dimension taken from the input that
 * declares the same symbol (`output [B,16,h,w]` ← `x [B,16,h,w]`).
 */
function outputDims(session: InferenceSession, feeds: Record<string, Tensor>): Map<string, { type: Tensor.Type; dims: number[] }> {
  const symbols = new Map<string, number>();
  for (const m of session.inputMetadata) {
    if (!m.isTensor) continue;
    m.shape.forEach((d, i) => {
      if (typeof d === 'string' && feeds[m.name]) symbols.set(d, feeds[m.name].dims[i]);
    });
  }
  const out = new Map<string, { type: Tensor.Type; dims: number[] }>();
  for (const m of session.outputMetadata) {
    if (!m.isTensor) throw new NotCapturable(`output ${m.name} is not a tensor`);
    const dims = m.shape.map((d) => {
      const n = typeof d === 'number' ? d : symbols.get(d);
      if (n === undefined || n < 0) throw new NotCapturable(`output ${m.name} has dimension ${String(d)} that no input determines`);
      return n;
    });
    out.set(m.name, { type: m.type, dims });
  }
  return out;
}

/**
 * Opens a captured session, or an uncaptured one when onnxruntime refuses capture for this graph (the reason
 * is logged). Either way the result is an EngineSession.
 */
export async function openCapturedSession(host: CaptureHost): Promise<EngineSession> {
  let session: InferenceSession;
  try {
    session = await host.open(true);
  } catch (e) {
    // A named failure of our own (a stored-data read that kept stalling) is no refusal of capture.
    if (e instanceof SoteError) throw e;
    host.log(`${host.label}: graph capture refused by onnxruntime, running uncaptured: ${e instanceof Error ? e.message : String(e)}`);
    host.refused?.();
    return plainSession(await host.open(false));
  }
  return new CapturedSession(host, session);
}

/** An onnxruntime session as an EngineSession, outputs where the session puts them. */
export function plainSession(session: InferenceSession): EngineSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    captured: false,
    run: (feeds) => session.run(feeds) as Promise<Record<string, Tensor>>,
    release: () => session.release(),
  };
}

class CapturedSession implements EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #capture: Capture | undefined;
  /** Set once capture failed: runs go to this uncaptured session from then on. */
  #fallback: EngineSession | undefined;
  /** The freshly opened captured session, not yet bound to buffers (first run, or after a re-capture). */
  #pending: InferenceSession | undefined;

  constructor(private readonly host: CaptureHost, session: InferenceSession) {
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.#pending = session;
  }

  get captured(): boolean {
    return !this.#fallback;
  }

  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.#fallback) return this.#fallback.run(feeds);
    for (const n of this.inputNames) if (!feeds[n]) throw new Error(`${this.host.label}: input ${n} is missing`);
    const signature = signatureOf(this.inputNames, feeds);
    try {
      if (this.#capture && this.#capture.signature !== signature) {
        this.host.log(`${this.host.label}: input shapes changed (${this.#capture.signature} → ${signature}): re-capturing`);
        await this.#releaseCapture();
        this.#pending = await this.host.open(true);
      }
      this.#capture ??= this.#bind(this.#pending!, feeds, signature);
      this.#pending = undefined;
      return await this.#runCaptured(this.#capture, feeds);
    } catch (e) {
      // Anything that fails here (no output dims, an input on another device, onnxruntime failing to record or
      // replay) is retried uncaptured: a genuine input error then surfaces from the plain session.
      this.host.log(`${this.host.label}: graph capture not possible, running uncaptured: ${(e as Error).message}`);
      await this.#releaseCapture();
      await this.#pending?.release();
      this.#pending = undefined;
      this.#fallback = plainSession(await this.host.open(false));
      return this.#fallback.run(feeds);
    }
  }

  /** Allocates this capture's input and output buffers for one set of input dims. */
  #bind(session: InferenceSession, feeds: Record<string, Tensor>, signature: string): Capture {
    const device = this.host.device();
    const key = registrationKey(Object.values(feeds));
    const slot = (type: Tensor.Type, dims: readonly number[]): Slot => {
      const bytes = byteLength(type, dims);
      const buffer = device.createBuffer({ size: Math.max(16, align4(bytes)), usage: STORAGE_COPY });
      pinRegistration(buffer, key);
      return { buffer, bytes, tensor: this.host.fromGpuBuffer(buffer, { dataType: type as Tensor.GpuBufferDataTypes, dims }) };
    };
    const outputs = new Map<string, Slot>();
    const inputs = new Map<string, Slot>();
    const capture = { session, signature, inputs, outputs };
    try {
      for (const [name, o] of outputDims(session, feeds)) outputs.set(name, slot(o.type, o.dims));
      for (const n of this.inputNames) inputs.set(n, slot(feeds[n].type, feeds[n].dims));
    } catch (e) {
      destroySlots(capture);
      throw e;
    }
    return capture;
  }

  async #runCaptured(c: Capture, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const device = this.host.device();
    let encoder: ReturnType<CaptureGpuDevice['createCommandEncoder']> | undefined;
    for (const [name, s] of c.inputs) {
      const feed = feeds[name];
      if (feed === s.source) continue;
      if (feed.location === 'gpu-buffer') {
        encoder ??= device.createCommandEncoder();
        encoder.copyBufferToBuffer(feed.gpuBuffer, 0, s.buffer, 0, align4(s.bytes));
      } else if (feed.location === 'cpu') {
        const data = feed.data as ArrayBufferView;
        const padded = data.byteLength % 4 ? copyPadded(data) : data;
        device.queue.writeBuffer(s.buffer, 0, padded);
      } else {
        throw new NotCapturable(`input ${name} is on '${feed.location}' (a captured session takes GPU buffers or CPU data)`);
      }
      s.source = feed;
    }
    // The copies are queued before the replay: onnxruntime submits its own work on the same queue.
    if (encoder) device.queue.submit([encoder.finish()]);
    const fetches = Object.fromEntries([...c.outputs].map(([n, s]) => [n, s.tensor]));
    const inputs = Object.fromEntries([...c.inputs].map(([n, s]) => [n, s.tensor]));
    const out = (await c.session.run(inputs, fetches)) as Record<string, Tensor>;
    // Fresh wrappers per run over the fixed buffers, without a disposer: the caller may dispose them freely.
    return Object.fromEntries(Object.entries(out).map(([n, t]) => {
      const { buffer, bytes } = c.outputs.get(n)!;
      const dataType = t.type as Tensor.GpuBufferDataTypes;
      return [n, this.host.fromGpuBuffer(buffer, { dataType, dims: t.dims, download: () => downloadBuffer(device, buffer, bytes, dataType) })];
    }));
  }

  async #releaseCapture(): Promise<void> {
    const c = this.#capture;
    this.#capture = undefined;
    if (!c) return;
    await c.session.release();
    destroySlots(c);
  }

  async release(): Promise<void> {
    await this.#releaseCapture();
    await this.#pending?.release();
    this.#pending = undefined;
    await this.#fallback?.release();
    this.#fallback = undefined;
  }
}

/** The name of the per-buffer registration onnxruntime-web keeps on a GPUBuffer it has registered. */
const REGISTRATION = 'gpuBufferMetadata';

/**
 * The symbol under which onnxruntime-web records a buffer's registration, read off a feed that is an output of
 * another session (onnxruntime-web keeps its own outputs registered while they live). The pipeline always has
 * one among a step network's feeds (conditioning, effnet or the previous step's latent).
 */
function registrationKey(feeds: Tensor[]): symbol {
  for (const t of feeds) {
    if (t.location !== 'gpu-buffer') continue;
    const key = Object.getOwnPropertySymbols(t.gpuBuffer).find((k) => k.description === REGISTRATION);
    if (key) return key;
  }
  throw new NotCapturable(`no feed is a GPU output of onnxruntime-web, so its buffer registration (${REGISTRATION}) cannot be pinned`);
}

/**
 * Registration entries are [handle, references]; onnxruntime-web releases the handle when references drop to 0
 * after a run. Adding one reference when the entry is first stored keeps the handle for the buffer's lifetime:
 * every later run finds and reuses it, so the handles the capture recorded stay valid. The handle itself is never
 * released (one small table entry per buffer; destroy() still frees the GPU memory).
 */
function pinRegistration(buffer: object, key: symbol): void {
  let entry: [unknown, number] | undefined;
  Object.defineProperty(buffer, key, {
    configurable: true,
    get: () => entry,
    set: (value: [unknown, number]) => {
      value[1] += 1;
      entry = value;
    },
  });
}

function destroySlots(c: Capture): void {
  for (const s of [...c.inputs.values(), ...c.outputs.values()]) s.buffer.destroy();
  c.inputs.clear();
  c.outputs.clear();
}

function copyPadded(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(align4(data.byteLength));
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}
