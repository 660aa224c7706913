/**
 * One entry per network kind: how its config is recognised and parsed, how its graph is built, and which
 * named inputs/outputs it has. The CLI, the package converter and the pipeline all go through this table, so
 * a new kind is added in one place.
 */
import { parseStageBConfig, parseStageCConfig, type StageBConfig, type StageCConfig } from './cascade-config.ts';
import type { ModelKind } from './checkpoint-source.ts';
import type { ModelContext, Precision } from './model-context.ts';
import type { CascadePart } from './cascade-unet.ts';
import type { WeightSource } from './weight-source.ts';
import { buildStageADecoder, parseStageAConfig, type StageAConfig } from './stage-a.ts';
import { buildStageB } from './stage-b.ts';
import { buildStageC } from './stage-c.ts';
import { buildClipTextEncoder, parseClipTextConfig, type ClipTextConfig } from './clip-text.ts';

export type AnyModelConfig =
  | { kind: 'stage_c'; config: StageCConfig }
  | { kind: 'stage_b'; config: StageBConfig }
  | { kind: 'stage_a'; config: StageAConfig }
  | { kind: 'clip_text'; config: ClipTextConfig };

export interface ModelBuildOptions {
  precision?: Precision;
  /** Stage C/B: take the zero-valued conditions as inputs (see stage-c.ts). */
  conditionInputs?: boolean;
  fusedAttention?: boolean;
  /** Stage A: latent multiplier (defaults to the config's scale_factor). */
  scaleFactor?: number;
  /** Stage C/B: full graph, or the step / conditioning half of a split build (cascade-unet.ts). */
  part?: CascadePart;
  /** Stage C/B: r-embedding frequency table override (model-context.ts BuildOptions). */
  rFrequencies?: Float32Array;
}

/** Networks that can be split into a per-step graph and a once-per-generation conditioning graph. */
export function splittable(kind: ModelKind): boolean {
  return kind === 'stage_c' || kind === 'stage_b';
}

/**
 * Builds a network for a package: validated as a whole against `source` (so unexpected tensors are caught),
 * then — for Stage C/B — as the step graph plus the conditioning graph, both bound.
 */
export function buildForPackage(model: AnyModelConfig, options: ModelBuildOptions, source: WeightSource): { main: ModelContext; conditioning?: ModelContext } {
  const full = buildModel(model, { ...options, part: 'full' });
  full.bind(source);
  if (!splittable(model.kind)) return { main: full };
  const main = buildModel(model, { ...options, part: 'step' });
  const conditioning = buildModel(model, { ...options, part: 'conditioning' });
  main.bind(source);
  conditioning.bind(source);
  return { main, conditioning };
}

/** An input the official forward lets the caller omit, and the value it then uses. */
export interface OptionalInput {
  name: string;
  /** Shape of the default, from the shapes of the given inputs (e.g. sca: [B]). */
  defaultDims(given: Record<string, readonly number[]>, model: AnyModelConfig): number[];
}

export interface ModelIo {
  required: string[];
  /** Present only in graphs built with conditionInputs; absent ones default to zeros, as in the official forward. */
  optional: OptionalInput[];
  outputs: string[];
  /** int64 inputs (everything else is float32). */
  int64Inputs?: string[];
}

const batch = (g: Record<string, readonly number[]>) => [g.x[0]];

export const MODEL_IO: Record<ModelKind, ModelIo> = {
  stage_c: {
    required: ['x', 'r', 'clip_text', 'clip_text_pooled'],
    optional: [
      { name: 'clip_img', defaultDims: (g, m) => [g.x[0], 1, m.kind === 'stage_c' ? m.config.kwargs.c_clip_img : 0] },
      { name: 'sca', defaultDims: batch },
      { name: 'crp', defaultDims: batch },
    ],
    outputs: ['output'],
  },
  stage_b: {
    required: ['x', 'r', 'effnet', 'clip'],
    optional: [
      { name: 'pixels', defaultDims: (g) => [g.x[0], 3, 8, 8] },
      { name: 'sca', defaultDims: batch },
    ],
    outputs: ['output'],
  },
  stage_a: { required: ['latents'], optional: [], outputs: ['decoded'] },
  clip_text: {
    required: ['input_ids', 'attention_mask'],
    optional: [],
    outputs: ['hidden_states_last_layer', 'last_hidden_state', 'pooled_output', 'text_embeds'],
    int64Inputs: ['input_ids', 'attention_mask'],
  },
};

/**
 * Recognises a config: the official `{"class","module","kwargs"}` format for the stages, a Hugging Face
 * config.json (`CLIPTextModelWithProjection`) for the text encoder.
 */
export function parseModelConfig(raw: unknown): AnyModelConfig {
  const obj = (raw ?? {}) as { class?: unknown; architectures?: unknown; model_type?: unknown };
  switch (obj.class) {
    case 'StageC': return { kind: 'stage_c', config: parseStageCConfig(raw) };
    case 'StageB': return { kind: 'stage_b', config: parseStageBConfig(raw) };
    case 'StageA': return { kind: 'stage_a', config: parseStageAConfig(raw) };
  }
  const archs = Array.isArray(obj.architectures) ? obj.architectures : [];
  if (archs.includes('CLIPTextModelWithProjection') || obj.model_type === 'clip_text_model') {
    return { kind: 'clip_text', config: parseClipTextConfig(raw) };
  }
  throw new Error(
    'unrecognised config: expected {"class": "StageC" | "StageB" | "StageA", "kwargs": {…}} or a Hugging Face ' +
      'CLIPTextModelWithProjection config.json',
  );
}

export function buildModel(model: AnyModelConfig, options: ModelBuildOptions = {}): ModelContext {
  switch (model.kind) {
    case 'stage_c': return buildStageC(model.config, options);
    case 'stage_b': return buildStageB(model.config, options);
    case 'stage_a': return buildStageADecoder(model.config, { precision: options.precision, scaleFactor: options.scaleFactor });
    case 'clip_text': return buildClipTextEncoder(model.config, { precision: options.precision, fusedAttention: options.fusedAttention });
  }
}
