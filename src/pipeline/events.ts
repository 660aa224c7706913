/** What a generation reports while it runs: a typed union, never free text (the page and the queue API render it). */
import type { ModelKind } from '../models/checkpoint-source.ts';

/** Stage names as the hosted API's `timings` keys use them. */
export type GenerationStage = 'text_encoder' | 'prior' | 'decoder' | 'vqgan';

export type PipelineEvent =
  /** A network's session is being created (its 'session' event follows with the time taken). */
  | { type: 'session-start'; component: ModelKind }
  /**
   * External data read so far while the network's session is built (at most every 500 ms, and once at the
   * end). `totalBytes` is the package's size of it; a graph onnxruntime loads twice (graph capture refused)
   * counts twice, so `loadedBytes` may pass it.
   */
  | { type: 'session-progress'; component: ModelKind; loadedBytes: number; totalBytes: number }
  | { type: 'session'; component: ModelKind | 'sampler'; ms: number }
  | { type: 'stage-start'; stage: GenerationStage }
  | { type: 'stage-end'; stage: GenerationStage; ms: number }
  | { type: 'step'; stage: 'prior' | 'decoder'; step: number; steps: number; ms: number }
  | { type: 'preview'; stage: 'prior'; step: number; width: number; height: number; rgb: Uint8Array }
  | { type: 'log'; level: 'INFO' | 'WARN' | 'DEBUG'; message: string };

export type PipelineListener = (event: PipelineEvent) => void;
