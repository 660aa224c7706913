/**
 * Runs the real pipeline (src/pipeline/text-to-image.ts) on the tiny demo package over onnxruntime-web's WebGPU
 * EP in this page, with the engine's graph capture on or off, and reports the images and what each sampling
 * step asked of the GPU (gpu-counters.ts). Used by e2e/webgpu-graph-capture.test.ts.
 */
import { installGpuCounters, gpuCounters, diffCounters, type GpuCounters } from './gpu-counters.ts';
installGpuCounters();
import * as ort from 'onnxruntime-web/webgpu';
import { OrtEngine, type EngineSession, type OrtModule, type SessionRequest, type SessionSource } from '../../src/engine/ort-engine.ts';
import { TextToImagePipeline, type GenerationRequest } from '../../src/pipeline/text-to-image.ts';
import { urlPackageReader } from '../../src/pipeline/package-reader.ts';

export interface StepCounters {
  stage: string;
  step: number;
  dispatches: number;
  computePasses: number;
  bufferCopies: number;
  submits: number;
  uploadBytes: number;
  uniformBytes: number;
  readbackBytes: number;
}

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
}

declare global {
  interface Window {
    graphCaptureReady?: boolean;
    captureGenerate?: (graphCapture: boolean, requests: GenerationRequest[]) => Promise<CaptureRunResult>;
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
  const result: CaptureRunResult = { images: [], steps: [], captured: {}, log, generateMs: [] };
  try {
    for (const request of requests) {
      const steps: StepCounters[] = [];
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

window.graphCaptureReady = true;
