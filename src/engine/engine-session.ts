/**
 * A created onnxruntime session as the pipeline uses it, whatever opened it (ort-engine.ts plainly, or
 * graph-capture.ts replaying a recorded command stream). Its own module so both can name it without a cycle.
 */
import type { Tensor } from 'onnxruntime-common';

export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** True while runs replay a captured graph (graph-capture.ts): outputs are then valid until the next run. */
  readonly captured?: boolean;
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}
