/**
 * Stage A decode in overlapping tiles, for devices whose buffer limits the untiled decode would exceed.
 *
 * Why it is exact: Stage A's decoder is local — 1×1 convs, per-pixel LayerNorm/MLPs, depthwise 3×3 convs and
 * ConvTranspose k4 s2 (no GRN, no attention; spec §9.3). An output pixel therefore depends only on latents
 * within `stageAReceptiveRadius` latent pixels. A tile decodes a window = its core grown by `overlap` on every
 * side (clipped to the latent), and only the core is kept. Where the window was clipped at the latent's border,
 * the tile sees the same border the whole image sees (Pad edge / ConvTranspose zeros), so edge tiles are exact
 * too. With overlap ≥ radius every kept pixel is computed from the same inputs with the same operations as the
 * untiled decode: equal up to float rounding (kernels may sum in a different order on other sizes).
 *
 * Device invariant: the latent windows, decoded tiles, cropped cores and the assembled image are engine
 * tensors (GPU buffers on WebGPU) sliced and concatenated by tiny graphs (src/models/tile-graphs.ts); nothing
 * is read back, and every intermediate is disposed as soon as it has been consumed.
 */
import type { Tensor } from 'onnxruntime-common';
import { stageAActivations } from '../engine/memory-plan.ts';
import type { EngineSession, OrtEngine } from '../engine/ort-engine.ts';
import type { StageAConfig, StageAKwargs } from '../models/stage-a.ts';
import { buildSpatialConcatGraph, buildSpatialSliceGraph } from '../models/tile-graphs.ts';
import { serializeToMemory } from '../onnx/serialize.ts';
import type { PipelineListener } from './events.ts';

export interface StageATiling {
  /**
   * Always tile, with cores of at most this many latent pixels per side (a user setting, or tests). Without it
   * the decoder tiles only when `maxBindingBytes` requires it.
   */
  tileSize?: number;
  /**
   * Latent pixels each window extends past its core on every side. Default: max(16, ⌈receptive radius⌉)
   * (16 covers the released decoder's 13.5). Smaller than the receptive radius is a RangeError: the seams
   * would no longer be exact.
   */
  overlap?: number;
  /**
   * The largest single buffer the device can bind, in bytes — min(maxStorageBufferBindingSize, maxBufferSize)
   * of the WebGPU adapter. When the untiled decode's largest activation (memory-plan estimate) exceeds it, the
   * decode is tiled with the largest square core whose window fits.
   */
  maxBindingBytes?: number;
}

/** A tile's extent along one axis, in latent pixels: [start, end) of the kept core and of the decoded window. */
export interface TileSpan {
  core: [number, number];
  window: [number, number];
}

export interface StageATilePlan {
  /** Spans along H (rows) and W (columns); tiles are their cross product, decoded row by row. */
  rows: TileSpan[];
  cols: TileSpan[];
  overlap: number;
  /** Largest core side used (latent px). */
  tileSize: number;
}

/**
 * How far (in latent pixels) an output pixel of StageA.decode can see. Level 0 (latent resolution) runs
 * bottleneck_blocks ResBlocks, each one depthwise 3×3 (radius 1). Each ConvTranspose k4 s2 p1 from level i reads
 * input pixels within 1 of the output's source (radius 1 at level i, i.e. 1/2^i latent px), and level i ≥ 1
 * runs one ResBlock (radius 1 at resolution 2^i). Released (levels 2, 12 blocks): 12 + 1 + 0.5 = 13.5.
 */
export function stageAReceptiveRadius(k: StageAKwargs): number {
  let r = k.bottleneck_blocks;
  for (let i = 1; i < k.levels; i++) r += 1 / 2 ** (i - 1) + 1 / 2 ** i;
  return r;
}

/** Output pixels per latent pixel: PixelShuffle(2) after levels−1 ConvTranspose ×2 (released: 4). */
export function stageAUpscale(k: StageAKwargs): number {
  return 2 ** k.levels;
}

function defaultOverlap(k: StageAKwargs): number {
  return Math.max(16, Math.ceil(stageAReceptiveRadius(k)));
}

/** Largest activation of decoding a [images, c_latent, h, w] latent window untiled (memory-plan estimate). */
export function stageALargestTensorBytes(config: StageAConfig, h: number, w: number, images: number): number {
  // stageAActivations takes image sizes and maps them back through latentSizes (which rounds odd sides up to
  // even): passing 4·side gives the window back, at most one pixel larger — a conservative estimate.
  return stageAActivations(config, 4 * w, 4 * h, images).largestTensorBytes;
}

/** Splits [0, n) into ⌈n/tile⌉ balanced cores (each ≤ tile) and grows each by `overlap`, clipped to [0, n). */
export function tileSpans(n: number, tile: number, overlap: number): TileSpan[] {
  const count = Math.ceil(n / tile);
  const bounds = Array.from({ length: count + 1 }, (_, i) => Math.round((i * n) / count));
  return Array.from({ length: count }, (_, i) => ({
    core: [bounds[i], bounds[i + 1]] as [number, number],
    window: [Math.max(0, bounds[i] - overlap), Math.min(n, bounds[i + 1] + overlap)] as [number, number],
  }));
}

/**
 * The tiling for a latent of h × w (latent px) and `images` rows, or undefined when the decode runs untiled
 * (no forced tile size and the untiled decode fits `maxBindingBytes`, or no limit was given).
 */
export function planStageATiles(config: StageAConfig, h: number, w: number, images: number, tiling: StageATiling = {}): StageATilePlan | undefined {
  const k = config.kwargs;
  const overlap = tiling.overlap ?? defaultOverlap(k);
  const radius = stageAReceptiveRadius(k);
  if (!Number.isInteger(overlap) || overlap < radius) {
    throw new RangeError(`Stage A tile overlap ${overlap} is below the decoder's receptive radius ${radius} latent px: seams would not be exact`);
  }
  let tile: number;
  if (tiling.tileSize !== undefined) {
    if (!Number.isInteger(tiling.tileSize) || tiling.tileSize < 1) throw new RangeError(`Stage A tile size must be a positive integer (got ${tiling.tileSize})`);
    tile = tiling.tileSize;
  } else {
    const limit = tiling.maxBindingBytes;
    if (limit === undefined || stageALargestTensorBytes(config, h, w, images) <= limit) return undefined;
    // Largest square core whose (clipped) window fits; windows shrink monotonically with the core.
    tile = Math.max(h, w);
    const fits = (t: number) => stageALargestTensorBytes(config, Math.min(h, t + 2 * overlap), Math.min(w, t + 2 * overlap), images) <= limit;
    while (tile > 1 && !fits(tile)) tile--;
    if (!fits(tile)) {
      throw new RangeError(`Stage A cannot fit a ${images}-image decode into ${limit} bytes per buffer even with 1-pixel tiles (overlap ${overlap})`);
    }
  }
  const rows = tileSpans(h, Math.min(tile, h), overlap);
  const cols = tileSpans(w, Math.min(tile, w), overlap);
  if (rows.length === 1 && cols.length === 1) return undefined; // one tile = the untiled decode
  return { rows, cols, overlap, tileSize: Math.min(tile, Math.max(h, w)) };
}

/**
 * Runs Stage A on an engine, tiled when the plan says so. Owns the slice/concat helper sessions (compiled on
 * first tiled use, a few KB each); release() frees them.
 */
export class StageADecoder {
  private slice?: EngineSession;
  private readonly concats = new Map<string, EngineSession>();

  constructor(
    private readonly engine: OrtEngine,
    private readonly config: StageAConfig,
    private readonly tiling: StageATiling = {},
  ) {}

  /** latents [B, c_latent, h, w] → decoded [B, 3, up·h, up·w] (an engine tensor; the caller disposes it). */
  async decode(net: EngineSession, latents: Tensor, onEvent?: PipelineListener): Promise<Tensor> {
    const [b, , h, w] = latents.dims;
    const plan = planStageATiles(this.config, h, w, b, this.tiling);
    if (!plan) return (await net.run({ latents })).decoded;
    onEvent?.({
      type: 'log', level: 'INFO',
      message: `Stage A: decoding ${h}×${w} latents in ${plan.rows.length}×${plan.cols.length} tiles (core ≤ ${plan.tileSize}, overlap ${plan.overlap} latent px)`,
    });
    const up = stageAUpscale(this.config.kwargs);
    const rows: Tensor[] = [];
    for (const r of plan.rows) {
      const cores: Tensor[] = [];
      for (const c of plan.cols) {
        const window = await this.sliceOf(latents, [r.window[0], c.window[0]], [r.window[1], c.window[1]]);
        const decoded = (await net.run({ latents: window })).decoded;
        this.engine.dispose(window);
        // The core, in the window's decoded pixel coordinates.
        cores.push(await this.sliceOf(decoded,
          [up * (r.core[0] - r.window[0]), up * (c.core[0] - c.window[0])],
          [up * (r.core[1] - r.window[0]), up * (c.core[1] - c.window[0])]));
        this.engine.dispose(decoded);
      }
      rows.push(await this.concat(cores, 3));
    }
    return this.concat(rows, 2);
  }

  private async sliceOf(x: Tensor, starts: [number, number], ends: [number, number]): Promise<Tensor> {
    this.slice ??= await this.engine.createSession(await serializeToMemory(buildSpatialSliceGraph()));
    const i64 = (v: [number, number]) => this.engine.tensor({ dtype: 'int64', dims: [2], data: BigInt64Array.from(v.map(BigInt)) });
    return (await this.slice.run({ x, starts: i64(starts), ends: i64(ends) })).y;
  }

  /** Concatenates and disposes the parts (a single part is returned as is). */
  private async concat(parts: Tensor[], axis: 2 | 3): Promise<Tensor> {
    if (parts.length === 1) return parts[0];
    const key = `${parts.length}:${axis}`;
    let session = this.concats.get(key);
    if (!session) {
      session = await this.engine.createSession(await serializeToMemory(buildSpatialConcatGraph(parts.length, axis)));
      this.concats.set(key, session);
    }
    const y = (await session.run(Object.fromEntries(parts.map((t, i) => [`t${i}`, t])))).y;
    parts.forEach((t) => this.engine.dispose(t));
    return y;
  }

  async release(): Promise<void> {
    await this.slice?.release();
    this.slice = undefined;
    for (const s of this.concats.values()) await s.release();
    this.concats.clear();
  }
}
