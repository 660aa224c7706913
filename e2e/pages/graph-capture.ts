/**
 * Runs the real pipeline (src/pipeline/text-to-image.ts) on the tiny demo package over onnxruntime-web's WebGPU
 * EP in this page, with the engine's graph capture on or off, and reports the images and what each sampling
 * step asked of the GPU (gpu-counters.ts). Used by e2e/webgpu-graph-capture.test.ts.
 */
import { installGpuCounters, gpuCounters, diffCounters, resetPeakBytes, type GpuCounters } from './gpu-counters.ts';
installGpuCounters();
import * as ort from 'onnxruntime-web/webgpu';
import { OrtEngine, type EngineSession, type OrtModule, type SessionRequest, type SessionSource } from '../../src/engine/ort-engine.ts';
import { TextToImagePipeline, type GenerationRequest } from '../../src/pipeline/text-to-image.ts';
import { urlPackageReader } from '../../src/pipeline/package-reader.ts';
import { buildDdpmStepGraph, compileWeightless } from '../../src/models/pipeline-graphs.ts';
import { buildInsertAxis1Graph } from '../../src/models/tile-graphs.ts';

/** One step's counters (the per-step subset of GpuCounters) tagged with its stage and step. */
export type StepCounters = { stage: string; step: number } & Pick<GpuCounters,
  'dispatches' | 'computePasses' | 'bufferCopies' | 'submits' | 'uploadBytes' | 'uniformBytes' | 'readbackBytes'>;

export interface CaptureRunResult {
  /** Per generation: the RGB bytes of every image, concatenated, base64. */
  images: string[];
  /** Per generation: GPU work between consecutive step events (one network run + one sampler update each). */
  steps: StepCounters[][];
  /** Per step-network session label: whether its runs replayed a captured graph at the end. */
  captured: Record<string, boolean>;
  /** The engine's log lines (fallbacks, re-captures). */
  log: string[];
  generateMs: number[];
  /** Per generation: peak bytes of live GPU buffers during it (sessions and weights included). */
  peakBytes: number[];
}

/** One run of the guided DDPM step graph, captured vs uncaptured on the same feeds: max |Δ| per output. */
export interface SamplerCaptureRun {
  captured: boolean;
  maxDiff: Record<string, number>;
}

declare global {
  interface Window {
    graphCaptureReady?: boolean;
    captureGenerate?: (graphCapture: boolean, requests: GenerationRequest[]) => Promise<CaptureRunResult>;
    samplerStepCapture?: () => Promise<SamplerCaptureRun[]>;
  }
}

/** An engine that remembers the per-step sessions it opened, so the page can say whether they were captured. */
class RecordingEngine extends OrtEngine {
  readonly stepSessions: { label: string; session: EngineSession }[] = [];
  override async createSession(source: SessionSource, request: SessionRequest = {}): Promise<EngineSession> {
    const session = await super.createSession(source, request);
    if (request.perStep) this.stepSessions.push({ label: request.label ?? '?', session });
    return session;
  }
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function stepCounters(stage: string, step: number, c: GpuCounters): StepCounters {
  const { dispatches, computePasses, bufferCopies, submits, uploadBytes, uniformBytes, readbackBytes } = c;
  return { stage, step, dispatches, computePasses, bufferCopies, submits, uploadBytes, uniformBytes, readbackBytes };
}

window.captureGenerate = async (graphCapture, requests) => {
  const log: string[] = [];
  const engine = new RecordingEngine(ort as unknown as OrtModule, 'webgpu', { graphCapture, log: (m) => log.push(m) });
  const pipeline = await TextToImagePipeline.load(engine, urlPackageReader(new URL('/models/tiny-demo/', location.href).href));
  const result: CaptureRunResult = { images: [], steps: [], captured: {}, log, generateMs: [], peakBytes: [] };
  try {
    for (const request of requests) {
      const steps: StepCounters[] = [];
      resetPeakBytes();
      let last = gpuCounters();
      const t = performance.now();
      const out = await pipeline.generate(request, {
        onEvent: (e) => {
          if (e.type === 'stage-start') last = gpuCounters();
          if (e.type !== 'step') return;
          const now = gpuCounters();
          steps.push(stepCounters(e.stage, e.step, diffCounters(last, now)));
          last = now;
        },
      });
      result.generateMs.push(performance.now() - t);
      result.peakBytes.push(gpuCounters().peakBytes);
      const all = new Uint8Array(out.images.reduce((a, i) => a + i.rgb.length, 0));
      let o = 0;
      for (const i of out.images) {
        all.set(i.rgb, o);
        o += i.rgb.length;
      }
      result.images.push(base64(all));
      result.steps.push(steps);
    }
    for (const { label, session } of engine.stepSessions) result.captured[label] = session.captured === true;
  } finally {
    await pipeline.release();
  }
  return result;
};

/**
 * The guided DDPM step graph (x0 feeds x_next, x_next feeds x_model: outputs that other nodes also consume),
 * captured and uncaptured, three runs on different feeds.
 */
window.samplerStepCapture = async () => {
  const log: string[] = [];
  const plain = new OrtEngine(ort as unknown as OrtModule, 'webgpu');
  const capturing = new OrtEngine(ort as unknown as OrtModule, 'webgpu', { graphCapture: true, log: (m) => log.push(m) });
  const model = await compileWeightless(buildDdpmStepGraph(true));
  const [a, b] = [await plain.createSession(model), await capturing.createSession(model, { perStep: true, label: 'sampler' })];
  // GPU feeds as the pipeline has them: outputs of another onnxruntime session (x → [B,1,…] is any such graph).
  const toGpu = await plain.createSession(await compileWeightless(buildInsertAxis1Graph()));
  const gpu = async (dims: number[], f: (i: number) => number) => {
    const n = dims.reduce((p, d) => p * d, 1);
    const y = (await toGpu.run({ x: plain.f32(Float32Array.from({ length: n }, (_, i) => f(i)), [1, n]) })).y;
    return ort.Tensor.fromGpuBuffer(y.gpuBuffer, { dataType: 'float32', dims });
  };
  const runs: SamplerCaptureRun[] = [];
  for (let k = 0; k < 3; k++) {
    const feeds = {
      x: await gpu([1, 16, 4, 4], (i) => Math.sin(0.1 * i + k)),
      eps: await gpu([2, 16, 4, 4], (i) => Math.cos(0.07 * i + 2 * k)),
      noise: plain.f32(Float32Array.from({ length: 256 }, (_, i) => Math.sin(0.3 * i - k)), [1, 16, 4, 4]),
      coef: plain.f32(Float32Array.from({ length: 8 }, (_, i) => 0.5 + 0.1 * i + 0.05 * k), [8]),
    };
    const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
    const maxDiff: Record<string, number> = {};
    for (const name of Object.keys(ra)) {
      const [x, y] = [(await ra[name].getData()) as Float32Array, (await rb[name].getData()) as Float32Array];
      maxDiff[name] = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    }
    runs.push({ captured: b.captured === true && log.length === 0, maxDiff });
  }
  await Promise.all([a.release(), b.release(), toGpu.release()]);
  return runs;
};

window.graphCaptureReady = true;
