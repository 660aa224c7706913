/**
 * The level structure Stage C and Stage B share (official `_down_encode` / `_up_decode`), with the level
 * transitions supplied by each stage. Activations are channels-last [B,H,W,C].
 *
 * Invariants taken from the official code:
 * - down level i: downscaler (i > 0), then block_repeat[0][i] passes over its blocks with a 1×1 repeat mapper
 *   between passes; its output is saved as the skip of up level i;
 * - up lists are deepest-first (up_blocks.0 = deepest level); in every up level but the deepest, the first
 *   block (a ResBlock built with c_skip) receives that level's skip on every pass;
 * - if the up-sampled x differs in size from the skip, x is bilinearly resized (align_corners) to it first.
 */
import { nchwToNhwc, nhwcToNchw, resizeBilinearAlignCorners, shapeOf } from '../onnx/ops.ts';
import { attnBlock, feedForwardBlock, kvMapper, resBlock, timestepBlock, timestepModulations, type TimeConditioning, type TimestepModulation } from './cascade-blocks.ts';
import { selfAttnAt, type UNetKwargs } from './cascade-config.ts';
import type { ModelContext } from './model-context.ts';

export interface LevelTransitions {
  /** down_downscalers.{i} for i ≥ 1: [B,H,W,C_{i−1}] → [B,H',W',C_i] */
  down(x: string, level: number): string;
  /** up_upscalers.{j} for up index j (deepest first), level = L−1−j ≥ 1: [B,H,W,C_level] → [B,H',W',C_{level−1}] */
  up(x: string, upIndex: number, level: number): string;
  /** Whether up-sampled sizes can differ from the skip's (Stage B with odd sizes); false skips the resize. */
  mayMisalign: boolean;
}

/**
 * Where an AttnBlock gets its kv_mapper(SiLU(cond)) [B,S,C]: computed in the graph, or — in a split build — a
 * graph input produced once per generation by the conditioning graph (the tokens do not change between
 * steps, so recomputing 64 kv_mappers per step is waste, and their weights need not stay resident).
 */
export type ConditioningKv = (blockPrefix: string, c: number) => string;

export interface UNetConditioning {
  time: TimeConditioning;
  kv: ConditioningKv;
  fusedAttention: boolean;
}

/** Every AttnBlock of a config as [state-dict prefix, level] (each once, although repeat passes reuse them). */
export function attentionBlocks(k: UNetKwargs): [string, number][] {
  return blocksOfType(k, 'A');
}

/** Every block of one type as [state-dict prefix, level], in build order, each once. */
function blocksOfType(k: UNetKwargs, blockType: string): [string, number][] {
  const out: [string, number][] = [];
  const levels = k.c_hidden.length;
  const scan = (listPrefix: string, level: number, layers: number) => {
    const cfg = k.level_config[level];
    for (let layer = 0; layer < layers; layer++) {
      [...cfg].forEach((type, i) => {
        if (type === blockType) out.push([`${listPrefix}.${layer * cfg.length + i}`, level]);
      });
    }
  };
  for (let i = 0; i < levels; i++) scan(`down_blocks.${i}`, i, k.blocks[0][i]);
  for (let j = 0; j < levels; j++) scan(`up_blocks.${j}`, levels - 1 - j, k.blocks[1][j]);
  return out;
}

function runLevelBlocks(
  ctx: ModelContext,
  k: UNetKwargs,
  x: string,
  listPrefix: string,
  level: number,
  layers: number,
  cond: UNetConditioning,
  modulation: Map<string, TimestepModulation>,
  skip?: string,
): string {
  const c = k.c_hidden[level];
  const cfg = k.level_config[level];
  let idx = 0;
  for (let layer = 0; layer < layers; layer++) {
    for (const type of cfg) {
      const prefix = `${listPrefix}.${idx}`;
      ctx.g.scope(prefix, () => {
        switch (type) {
          case 'C':
            x = resBlock(ctx, x, prefix, c, k.kernel_size, idx === 0 && skip ? { value: skip, c } : undefined);
            break;
          case 'T':
            x = timestepBlock(ctx, x, modulation.get(prefix) ?? unreachable(`no timestep modulation for ${prefix}`));
            break;
          case 'A':
            x = attnBlock(ctx, x, prefix, c, k.nhead[level], cond.kv(prefix, c), selfAttnAt(k, level), cond.fusedAttention);
            break;
          case 'F':
            x = feedForwardBlock(ctx, x, prefix, c);
            break;
        }
      });
      idx++;
    }
  }
  return x;
}

function unreachable(message: string): never {
  throw new Error(`internal: ${message}`);
}

function repeatMapper(ctx: ModelContext, x: string, prefix: string, c: number): string {
  return ctx.linear(x, prefix, c, c, true, [c, c, 1, 1]);
}

/**
 * Resizes channels-last x to the spatial size of channels-last `like`, in NCHW (the WebGPU EP's bilinear Resize
 * works on the last two axes only). The sizes are Shape(like)[1:3] as they are (Resize-19 `axes`): concatenating
 * [B,C] in front would be int64 arithmetic, which onnxruntime runs on the CPU inside a GPU session. The constant
 * Reshape gives `like` a known rank, without which shape inference cannot size `sizes`.
 */
function resizeLike(ctx: ModelContext, x: string, like: string): string {
  const g = ctx.g;
  const sizeHW = shapeOf(g, g.node('Reshape', [like, g.i64([0, 0, 0, 0])]), 1, 3);
  return nchwToNhwc(g, resizeBilinearAlignCorners(g, nhwcToNchw(g, x), sizeHW));
}

/** x [B,H,W,C_0] (embedded input) → [B,H,W,C_0] (before clf). */
export function unetBody(ctx: ModelContext, k: UNetKwargs, x: string, cond: UNetConditioning, t: LevelTransitions): string {
  const levels = k.c_hidden.length;
  const modulation = timestepModulations(ctx, cond.time, blocksOfType(k, 'T').map(([prefix, level]) => ({ prefix, c: k.c_hidden[level] })));
  const skips: string[] = [];
  for (let i = 0; i < levels; i++) {
    if (i > 0) x = ctx.g.scope(`down_downscalers.${i}`, () => t.down(x, i));
    const passes = k.block_repeat[0][i];
    for (let p = 0; p < passes; p++) {
      x = runLevelBlocks(ctx, k, x, `down_blocks.${i}`, i, k.blocks[0][i], cond, modulation);
      if (p < passes - 1) x = repeatMapper(ctx, x, `down_repeat_mappers.${i}.${p}`, k.c_hidden[i]);
    }
    skips.push(x);
  }
  for (let j = 0; j < levels; j++) {
    const level = levels - 1 - j;
    const skip = level < levels - 1 ? skips[level] : undefined;
    const passes = k.block_repeat[1][j];
    const layers = k.blocks[1][j];
    for (let p = 0; p < passes; p++) {
      // After the first pass x already has the skip's size, so only the first pass can need the resize.
      if (skip && p === 0 && t.mayMisalign && k.level_config[level][0] === 'C') x = resizeLike(ctx, x, skip);
      x = runLevelBlocks(ctx, k, x, `up_blocks.${j}`, level, layers, cond, modulation, skip);
      if (p < passes - 1) x = repeatMapper(ctx, x, `up_repeat_mappers.${j}.${p}`, k.c_hidden[level]);
    }
    if (level > 0) x = ctx.g.scope(`up_upscalers.${j}`, () => t.up(x, j, level));
  }
  return x;
}

/**
 * Which graph a Stage C/B build produces:
 * - 'full': one graph, conditioning tokens in, ε out (forward goldens, the CLI);
 * - 'step': the per-step network; each AttnBlock's kv is a graph input `kv.<block prefix>` [B,S,C];
 * - 'conditioning': once per generation, conditioning inputs → every `kv.<block prefix>`.
 * 'step' + 'conditioning' compute exactly what 'full' computes.
 */
export type CascadePart = 'full' | 'step' | 'conditioning';

export function kvInputName(blockPrefix: string): string {
  return `kv.${blockPrefix}`;
}

/** The kv source of a 'full' (computed from SiLU(cond) here) or 'step' (graph inputs) build. */
export function conditioningKv(ctx: ModelContext, part: 'full' | 'step', condSilu: () => string, cCond: number): ConditioningKv {
  const made = new Map<string, string>();
  return (prefix, c) => {
    let v = made.get(prefix);
    if (!v) {
      v = part === 'step' ? ctx.g.input(kvInputName(prefix), 'float32', ['B', 'S', c]) : kvMapper(ctx, condSilu(), prefix, cCond, c);
      made.set(prefix, v);
    }
    return v;
  };
}

/** The 'conditioning' graph's outputs: kv_mapper(SiLU(cond)) of every AttnBlock. */
export function conditioningOutputs(ctx: ModelContext, k: UNetKwargs, condSilu: string): void {
  for (const [prefix, level] of attentionBlocks(k)) {
    const c = k.c_hidden[level];
    ctx.g.output(ctx.g.scope(prefix, () => kvMapper(ctx, condSilu, prefix, k.c_cond, c)), kvInputName(prefix), 'float32', ['B', 'S', c]);
  }
}
