/**
 * Latent sizes for an image of width × height (official inference/utils.py `calculate_latent_sizes`):
 * Stage C = ceil(side / 42.67), Stage B = ceil(side / 4). For multiples of 128 px every reference agrees
 * (C = side/128·3, B = side/4) and Stage A's 4× output is exactly the requested size; for other sizes Stage A
 * gives 4·ceil(side/4) ≥ side and the pipeline crops/resizes to the requested size.
 */
export const STAGE_C_COMPRESSION = 42.67;
export const STAGE_B_COMPRESSION = 4;

export interface LatentSizes {
  /** [h, w] of Stage C's latent */
  stageC: [number, number];
  /** [h, w] of Stage B's latent */
  stageB: [number, number];
  /** [h, w] of Stage A's output before fitting to the requested size */
  decoded: [number, number];
}

export function latentSizes(width: number, height: number): LatentSizes {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size must be positive integers (got ${width}×${height})`);
  }
  const c = (s: number) => Math.ceil(s / STAGE_C_COMPRESSION);
  // Stage B's PixelUnshuffle(2) needs even latent sides; odd ones round up (the decode then exceeds the
  // request by a few pixels and is cropped).
  const b = (s: number) => {
    const n = Math.ceil(s / STAGE_B_COMPRESSION);
    return n + (n % 2);
  };
  return {
    stageC: [c(height), c(width)],
    stageB: [b(height), b(width)],
    decoded: [4 * b(height), 4 * b(width)],
  };
}
