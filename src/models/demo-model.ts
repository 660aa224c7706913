/**
 * The tiny demo model: a complete package (CLIP text encoder, Stage C, Stage B, Stage A, tokenizer) with
 * deterministic random weights in tiny configs. It runs anywhere in a second — the page offers it so
 * something works with no download, and tests use it end to end. It is built from code (never committed as
 * binary): the same seed always gives the same bytes.
 *
 * Its images are not pictures (the weights are random); they are deterministic functions of prompt and seed.
 *
 * Tokenizer: CLIP's own byte-level layout without merges — ids 0–255 the byte symbols, 256–511 the same
 * with "</w>", then <|startoftext|> 512 and <|endoftext|> 513 — so every prompt tokenizes (one token per
 * byte) with the same pipeline as the real 49,408-token vocabulary.
 */
import type { StageBConfig, StageCConfig } from './cascade-config.ts';
import type { ClipTextConfig } from './clip-text.ts';
import type { ModelKind } from './checkpoint-source.ts';
import { writeComponent, writeManifest, writePackageFile, type ComponentManifest, type PackageManifest, type PackageSink } from './model-package.ts';
import type { Precision } from './model-context.ts';
import { buildForPackage, buildModel, type AnyModelConfig, type ModelBuildOptions } from './registry.ts';
import type { StageAConfig } from './stage-a.ts';
import type { WeightSource } from './weight-source.ts';
import { TorchGenerator } from '../core/torch-generator.ts';

export const DEMO_MODEL_NAME = 'tiny-demo';
/** The demo's safety checker folder next to it under /models/ (a tiny classifier that flags bright images). */
export const DEMO_SAFETY_MODEL_ID = 'tiny-demo-safety';
const DEMO_SEED = 20240215;
const HIDDEN_TEXT = 32;

const CLIP: ClipTextConfig = {
  vocab_size: 514, hidden_size: HIDDEN_TEXT, intermediate_size: 4 * HIDDEN_TEXT, projection_dim: HIDDEN_TEXT,
  num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 77, layer_norm_eps: 1e-5,
  hidden_act: 'gelu', eos_token_id: 513,
};

const STAGE_C: StageCConfig = {
  class: 'StageC',
  kwargs: {
    c_in: 16, c_out: 16, c_r: 64, patch_size: 1, c_cond: 32, c_hidden: [32, 48], nhead: [2, 4],
    blocks: [[1, 2], [2, 1]], block_repeat: [[1, 1], [1, 1]], level_config: ['CTA', 'CTA'],
    c_clip_text: HIDDEN_TEXT, c_clip_text_pooled: HIDDEN_TEXT, c_clip_img: 24, c_clip_seq: 4, kernel_size: 3,
    self_attn: true, t_conds: ['sca', 'crp'], switch_level: [false],
  },
};

const STAGE_B: StageBConfig = {
  class: 'StageB',
  kwargs: {
    c_in: 4, c_out: 4, c_r: 64, patch_size: 2, c_cond: 32, c_hidden: [8, 16, 24, 24], nhead: [-1, -1, 2, 2],
    blocks: [[1, 1, 2, 1], [1, 2, 1, 1]], block_repeat: [[1, 1, 1, 1], [3, 3, 2, 2]],
    level_config: ['CT', 'CT', 'CTA', 'CTA'], c_clip: HIDDEN_TEXT, c_clip_seq: 4, c_effnet: 16, c_pixels: 3,
    kernel_size: 3, self_attn: true, t_conds: ['sca'],
  },
};

const STAGE_A: StageAConfig = {
  class: 'StageA',
  kwargs: { levels: 2, bottleneck_blocks: 2, c_hidden: 16, c_latent: 4, codebook_size: 64, scale_factor: 0.43 },
};

export const DEMO_COMPONENTS: AnyModelConfig[] = [
  { kind: 'clip_text', config: CLIP },
  { kind: 'stage_c', config: STAGE_C },
  { kind: 'stage_b', config: STAGE_B },
  { kind: 'stage_a', config: STAGE_A },
];

/**
 * Random weights for the tensors a graph expects, by role (as the golden set randomises them): weights
 * N(0, 1/fan_in), biases N(0, 0.1²), GRN gamma/beta N(0, 0.3²), Stage A gammas N(0, 0.5²), LayerNorm weights
 * 1 + N(0, 0.1²), embeddings N(0, 1) (positions N(0, 0.5²)).
 */
export function randomWeightSource(expected: ReadonlyMap<string, readonly number[]>, seed: number): WeightSource {
  const gen = new TorchGenerator(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const name of [...expected.keys()].sort()) {
    const shape = [...expected.get(name)!];
    const data = gen.randn(shape.length ? shape : [1]);
    let std: number;
    let offset = 0;
    if (name.endsWith('.bias')) std = 0.1;
    else if (/\.(gamma|beta)$/.test(name)) std = 0.3;
    else if (name.endsWith('.gammas')) std = 0.5;
    else if (/layer_norm\d?\.weight$|final_layer_norm\.weight$/.test(name)) { std = 0.1; offset = 1; }
    else if (name.endsWith('position_embedding.weight')) std = 0.5;
    else if (name.endsWith('token_embedding.weight')) std = 1;
    else std = 1 / Math.sqrt(Math.max(1, shape.slice(1).reduce((a, d) => a * d, 1)));
    for (let i = 0; i < data.length; i++) data[i] = offset + std * data[i];
    tensors.set(name, { shape, data });
  }
  return {
    description: 'random demo weights',
    get: (name) => {
      const t = tensors.get(name);
      return t && { shape: t.shape, read: async () => t.data };
    },
    names: () => tensors.keys(),
  };
}

/** GPT-2 / CLIP bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards, in that order. */
function byteSymbols(): string[] {
  const printable = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const rest = [];
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) rest.push(b);
  return [...printable.map((b) => String.fromCodePoint(b)), ...rest.map((_, i) => String.fromCodePoint(256 + i))];
}

export function demoVocab(): Record<string, number> {
  const symbols = byteSymbols();
  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => { vocab[s] = i; });
  symbols.forEach((s, i) => { vocab[`${s}</w>`] = 256 + i; });
  vocab['<|startoftext|>'] = 512;
  vocab['<|endoftext|>'] = 513;
  return vocab;
}

export interface DemoBuildOptions {
  precision?: Precision;
  onComponent?: (kind: ModelKind) => void;
}

/** Writes the demo package (graphs, chunks, tokenizer, manifest last) into `sink`. */
export async function writeDemoModel(sink: PackageSink, options: DemoBuildOptions = {}): Promise<PackageManifest> {
  const precision = options.precision ?? 'fp32';
  const components: Partial<Record<ModelKind, ComponentManifest>> = {};
  let seed = DEMO_SEED;
  for (const model of DEMO_COMPONENTS) {
    options.onComponent?.(model.kind);
    const build: ModelBuildOptions = { precision };
    const weights = randomWeightSource(buildModel(model, build).expected, seed++);
    const { main, conditioning } = buildForPackage(model, build, weights);
    components[model.kind] = await writeComponent(sink, model.kind, model, build, main, undefined, conditioning);
  }
  const enc = new TextEncoder();
  const tokenizer = [
    await writePackageFile(sink, 'tokenizer/vocab.json', enc.encode(JSON.stringify(demoVocab()))),
    await writePackageFile(sink, 'tokenizer/merges.txt', enc.encode('#version: 0.2\n')),
  ];
  return writeManifest(sink, { name: DEMO_MODEL_NAME, precision, components, tokenizer, source: { generator: `random weights, seed ${DEMO_SEED}` } });
}
