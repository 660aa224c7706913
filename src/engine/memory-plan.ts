/**
 * Memory needs of each network, computed from configs alone (no weights are allocated): weight bytes per
 * precision from the built graph's initializers, and an estimate of peak activation memory for one
 * generation step. The worker compares these with the adapter's limits to decide which stages stay resident;
 * `npm run cli -- plan` prints them for the released configs.
 *
 * Activation model (float32 activations; b = batch incl. the CFG doubling, N = tokens at a level):
 * - the residual stream and every saved skip stay live for the whole U-Net;
 * - a ResBlock/FF MLP holds its input, the 4C-wide hidden and the GRN output at once (≈ 2·C + 3·4C per token);
 * - attention holds q, k, v and the output (≈ 4·C per token, keys N+S), plus the score matrix
 *   b·heads·N·(N+S) unless the fused kernel streams it (flash attention on WebGPU);
 * - Stage A decodes without CFG (b = images) and its top-level MLP dominates.
 * The result is an estimate (±30 %): onnxruntime's allocator adds arena slack and may fuse or reuse buffers.
 */
import type { StageBConfig, StageCConfig } from '../models/cascade-config.ts';
import type { ClipTextConfig } from '../models/clip-text.ts';
import type { Graph } from '../onnx/graph.ts';
import { DTYPE_BYTES } from '../onnx/graph.ts';
import { stageALevelWidths, type StageAConfig } from '../models/stage-a.ts';
import { latentSizes } from '../models/latent-size.ts';

export interface ActivationEstimate {
  /** Peak bytes of live activations during one forward pass. */
  peakBytes: number;
  /** The largest single activation tensor (compare with maxStorageBufferBindingSize / maxBufferSize). */
  largestTensorBytes: number;
}

const F32 = 4;

export function graphWeightBytes(g: Graph): number {
  return g.weights.reduce((a, w) => a + w.dims.reduce((x, d) => x * d, 1) * DTYPE_BYTES[w.dtype], 0);
}

function unetLevelPeak(b: number, n: number, c: number, heads: number, s: number, attention: boolean, fusedScores: boolean) {
  const mlp = b * n * (2 * c + 3 * 4 * c) * F32;
  const scores = attention && !fusedScores ? b * heads * n * (n + s) * F32 : 0;
  const attn = attention ? b * (n * 2 * c + (n + s) * 2 * c) * F32 + scores : 0;
  return { peak: Math.max(mlp, attn), largest: Math.max(b * n * 4 * c * F32, scores) };
}

export function stageCActivations(config: StageCConfig, width: number, height: number, images: number, fusedScores: boolean): ActivationEstimate {
  const k = config.kwargs;
  const b = 2 * images;
  const [h, w] = latentSizes(width, height).stageC;
  const s = 77 + 2 * k.c_clip_seq;
  let persistent = 0;
  let peak = 0;
  let largest = 0;
  k.c_hidden.forEach((c, i) => {
    const n = h * w; // no spatial resampling in the released configs (switch_level false)
    persistent += b * n * c * F32; // skip
    const lvl = unetLevelPeak(b, n, c, k.nhead[i], s, k.level_config[i].includes('A'), fusedScores);
    peak = Math.max(peak, lvl.peak);
    largest = Math.max(largest, lvl.largest);
  });
  return { peakBytes: persistent + peak, largestTensorBytes: largest };
}

export function stageBActivations(config: StageBConfig, width: number, height: number, images: number, fusedScores: boolean): ActivationEstimate {
  const k = config.kwargs;
  const b = 2 * images;
  let [h, w] = latentSizes(width, height).stageB;
  h /= k.patch_size;
  w /= k.patch_size;
  let persistent = 0;
  let peak = 0;
  let largest = 0;
  k.c_hidden.forEach((c, i) => {
    const n = Math.ceil(h / 2 ** i) * Math.ceil(w / 2 ** i);
    persistent += b * n * c * F32;
    const lvl = unetLevelPeak(b, n, c, Math.max(1, k.nhead[i]), k.c_clip_seq, k.level_config[i].includes('A'), fusedScores);
    peak = Math.max(peak, lvl.peak);
    largest = Math.max(largest, lvl.largest);
  });
  return { peakBytes: persistent + peak, largestTensorBytes: largest };
}

/** Stage A decode of `images` latents, untiled. */
export function stageAActivations(config: StageAConfig, width: number, height: number, images: number): ActivationEstimate {
  const [h, w] = latentSizes(width, height).stageB;
  const widths = stageALevelWidths(config.kwargs); // shallow → deep
  let peak = 0;
  let largest = 0;
  widths.forEach((c, i) => {
    const n = images * (h * 2 ** (widths.length - 1 - i)) * (w * 2 ** (widths.length - 1 - i));
    peak = Math.max(peak, n * (2 * c + 2 * 4 * c) * F32);
    largest = Math.max(largest, n * 4 * c * F32);
  });
  return { peakBytes: peak, largestTensorBytes: largest };
}

export function clipActivations(config: ClipTextConfig, prompts: number): ActivationEstimate {
  const n = prompts * config.max_position_embeddings;
  const largest = Math.max(n * config.intermediate_size, prompts * config.num_attention_heads * config.max_position_embeddings ** 2) * F32;
  return { peakBytes: n * (2 * config.hidden_size + 2 * config.intermediate_size) * F32, largestTensorBytes: largest };
}
