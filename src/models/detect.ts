/**
 * Recognises a checkpoint by its tensor names and, for the released sizes, picks the matching preset config,
 * so `convert --from <the four SoteDiffusion files>` needs no config files. Unknown sizes need an explicit
 * config (the error says so).
 */
import { STAGE_B_PRESETS, STAGE_C_PRESETS } from './cascade-config.ts';
import type { ModelKind } from './checkpoint-source.ts';
import { CLIP_BIGG_TEXT_PRESET } from './clip-text.ts';
import type { AnyModelConfig } from './registry.ts';
import { STAGE_A_PRESET } from './stage-a.ts';

export interface TensorShapes {
  readonly name: string;
  has(tensor: string): boolean;
  shape(tensor: string): readonly number[] | undefined;
}

export function detectKind(f: TensorShapes): ModelKind {
  if (f.has('clip_txt_mapper.weight')) return 'stage_c';
  if (f.has('effnet_mapper.0.weight')) return 'stage_b';
  if (f.has('out_block.0.weight') && f.has('up_blocks.0.0.weight')) return 'stage_a';
  if (f.has('text_model.embeddings.token_embedding.weight')) return 'clip_text';
  throw new Error(`${f.name}: not a Stage C, Stage B, Stage A or CLIP text encoder checkpoint (no identifying tensor found)`);
}

export function presetFor(kind: ModelKind, f: TensorShapes): AnyModelConfig {
  const fail = (what: string): never => {
    throw new Error(`${f.name}: ${what} is not a released size; pass its config with --config ${kind}=<config.json>`);
  };
  switch (kind) {
    case 'stage_c': {
      const width = f.shape('clip_txt_mapper.weight')?.[0];
      if (width === 2048) return { kind, config: STAGE_C_PRESETS.big };
      if (width === 1536) return { kind, config: STAGE_C_PRESETS.lite };
      return fail(`Stage C with c_cond ${width}`);
    }
    case 'stage_b': {
      const width = f.shape('down_blocks.1.0.channelwise.0.weight')?.[1];
      if (width === 640) return { kind, config: STAGE_B_PRESETS.big };
      if (width === 576) return { kind, config: STAGE_B_PRESETS.lite };
      return fail(`Stage B with level-1 width ${width}`);
    }
    case 'stage_a': {
      const top = f.shape('up_blocks.0.0.weight')?.[0];
      if (top === 384) return { kind, config: STAGE_A_PRESET };
      return fail(`Stage A with width ${top}`);
    }
    case 'clip_text': {
      const hidden = f.shape('text_model.embeddings.token_embedding.weight')?.[1];
      if (hidden === 1280 && f.has('text_model.encoder.layers.31.mlp.fc1.weight') && !f.has('text_model.encoder.layers.32.mlp.fc1.weight')) {
        return { kind, config: CLIP_BIGG_TEXT_PRESET };
      }
      return fail(`CLIP text encoder with hidden size ${hidden}`);
    }
  }
}
