/**
 * Live preview of Stage C while it samples: the step's x0 prediction through the preview graph
 * (src/models/preview-graph.ts) to 8-bit RGB at latent size, read back and reported as a 'preview' event.
 *
 * Cost invariant: each preview is exactly one extra GPU→CPU read-back of B·h·w·3 bytes (B images, h×w the
 * Stage C latent: 24×24 for 1024², 36×24 for 1024×1536), and nothing else leaves the device. With previews
 * off (the default) the preview graph is never even compiled and a generation still reads back once.
 */
import type { Tensor } from 'onnxruntime-common';
import type { EngineSession, OrtEngine } from '../engine/ort-engine.ts';
import { compileWeightless } from '../models/pipeline-graphs.ts';
import { buildLatentPreviewGraph } from '../models/preview-graph.ts';

/** How often to preview: after steps every, 2·every, … and always after the last step. */
export interface PreviewOptions {
  /** A positive integer; 1 = after every step. */
  every: number;
}

export function validatePreviewOptions(p: PreviewOptions): void {
  if (!Number.isInteger(p.every) || p.every < 1) throw new RangeError(`preview.every must be a positive integer (got ${p.every})`);
}

/** Whether 1-based step `step` of `steps` gets a preview. */
export function isPreviewStep(step: number, steps: number, every: number): boolean {
  return step % every === 0 || step === steps;
}

export interface LatentPreview {
  width: number;
  height: number;
  /** [B,h,w,3] row-major RGB: image after image. */
  rgb: Uint8Array;
}

export class LatentPreviewer {
  private constructor(private readonly engine: OrtEngine, private readonly session: EngineSession) {}

  static async create(engine: OrtEngine): Promise<LatentPreviewer> {
    return new LatentPreviewer(engine, await engine.createSession(await compileWeightless(buildLatentPreviewGraph())));
  }

  /** latent [B,16,h,w] (left untouched) → RGB bytes; one read-back. */
  async render(latent: Tensor): Promise<LatentPreview> {
    const { rgb } = await this.session.run({ latent });
    try {
      const host = await this.engine.read(rgb);
      const [, height, width] = host.dims;
      // A copy of exactly these bytes: it crosses the worker boundary by structured clone, which would copy
      // the whole underlying buffer of a view.
      return { width, height, rgb: (host.data as Uint8Array).slice() };
    } finally {
      this.engine.dispose(rgb);
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
