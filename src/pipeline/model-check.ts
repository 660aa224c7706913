/**
 * "Test on this device" (TextToImagePipeline.check): what it reports, the fixed test latent it decodes, and the
 * named error it fails with. The check creates the session of every network and decodes one latent through
 * Stage A, so a user (or the scale benchmark) learns whether a model loads and produces finite pixels on this
 * backend without paying for a whole generation.
 */
import { registerErrorClasses, SoteError } from '../core/sote-error.ts';
import { TorchGenerator } from '../core/torch-generator.ts';
import type { Backend, EngineSession, OrtEngine } from '../engine/ort-engine.ts';
import type { ModelKind } from '../models/checkpoint-source.ts';
import type { PipelineListener } from './events.ts';
import type { StageADecoder } from './tiled-decode.ts';

/** The networks in the order check() creates them (a generation's order). */
export const CHECK_NETWORKS: readonly ModelKind[] = ['clip_text', 'stage_c', 'stage_b', 'stage_a'];

/** The test latent: TorchGenerator(CHECK_SEED).randn([1, c_latent, side, side]) — 256×256 pixels at Stage A's ×4. */
export const CHECK_SEED = 0;
export const CHECK_LATENT_SIDE = 64;

export interface ModelCheckSession {
  component: ModelKind;
  /** Creation time of the network's session(s): its main graph plus, for a split Stage C/B, its conditioning graph. */
  ms: number;
  /** Graphs of the network (2 for a split Stage C/B). */
  graphs: number;
  /**
   * True when the session(s) already existed (residency 'all' keeps what load() created): `ms` is then the time
   * measured when they were created.
   */
  reused: boolean;
}

export interface ModelCheckDecode {
  ms: number;
  width: number;
  height: number;
  /** Every decoded float (before the clamp to [0,1]) is finite. */
  finite: boolean;
  /** Decoded floats that are NaN or ±Infinity. */
  nonFinite: number;
  /** Distinct RGB colours of the 8-bit image (1 = a constant image). */
  distinct: number;
}

export interface ModelCheckResult {
  backend: Backend;
  residency: 'all' | 'sequential';
  /** One entry per network, in CHECK_NETWORKS order. */
  sessions: ModelCheckSession[];
  decode: ModelCheckDecode;
}

/** A step of the check failed (session creation or the decode); the cause is kept. */
export class ModelCheckError extends SoteError {
  override readonly name = 'ModelCheckError';
  constructor(step: string, reason: string, options?: { cause?: unknown }) {
    super(`the model check failed at ${step}: ${reason}`,
      'try the other backend (WASM runs on the CPU), a smaller precision (int8/int4), or Re-verify the model files and reinstall them if damaged',
      { step, reason }, options);
  }
}

registerErrorClasses({ ModelCheckError });

/** `e` as the ModelCheckError of `step` (one already is one). */
export function checkError(step: string, e: unknown): ModelCheckError {
  return e instanceof ModelCheckError ? e : new ModelCheckError(step, e instanceof Error ? e.message : String(e), { cause: e });
}

/**
 * Decodes the test latent [1, cLatent, 64, 64] on generate()'s path (StageADecoder, then the toRgb8 graph) as
 * the 'vqgan' stage, and reads back the decoded floats [1,3,256,256] (non-finite count) and the RGB bytes
 * (distinct colours). Everything it puts on the device is disposed.
 */
export async function decodeTestLatent(
  engine: OrtEngine, decoder: StageADecoder, stageA: EngineSession, toRgb8: EngineSession, cLatent: number, emit: PipelineListener,
): Promise<ModelCheckDecode> {
  emit({ type: 'stage-start', stage: 'vqgan' });
  const started = performance.now();
  const dims = [1, cLatent, CHECK_LATENT_SIDE, CHECK_LATENT_SIDE];
  const decoded = await decoder.decode(stageA, engine.f32(new TorchGenerator(CHECK_SEED).randn(dims), dims), emit);
  try {
    const [, , height, width] = decoded.dims;
    const crop = engine.tensor({ dtype: 'int64', dims: [2], data: BigInt64Array.from([BigInt(height), BigInt(width)]) });
    const rgb = (await toRgb8.run({ image: decoded, crop })).rgb;
    const nonFinite = countNonFinite((await engine.read(decoded)).data as Float32Array);
    const distinct = countDistinctRgb((await engine.read(rgb)).data as Uint8Array);
    engine.dispose(rgb);
    const ms = performance.now() - started;
    emit({ type: 'stage-end', stage: 'vqgan', ms });
    return { ms, width, height, finite: nonFinite === 0, nonFinite, distinct };
  } finally {
    engine.dispose(decoded);
  }
}

/** NaN and ±Infinity values among `values`. */
export function countNonFinite(values: Float32Array): number {
  let n = 0;
  for (const v of values) if (!Number.isFinite(v)) n++;
  return n;
}

/** Distinct colours of row-major RGB bytes (3 per pixel). */
export function countDistinctRgb(rgb: Uint8Array): number {
  const seen = new Set<number>();
  for (let i = 0; i + 2 < rgb.length; i += 3) seen.add((rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2]);
  return seen.size;
}
