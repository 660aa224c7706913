/**
 * Hugging Face CLIPTextModelWithProjection (transformers models/clip/modeling_clip.py, eager attention) as an
 * ONNX graph: the text encoder Stable Cascade conditions on (laion/CLIP-ViT-bigG-14-laion2B-39B-b160k).
 *
 * Forward (pre-LN transformer):
 *   h = token_embedding[ids] + position_embedding[0..L-1]
 *   per layer: h = h + out_proj(attn(LN1(h))); h = h + fc2(act(fc1(LN2(h))))
 *   hidden_states_last_layer = h (HF hidden_states[-1], BEFORE final_layer_norm: Stable Cascade's clip_text)
 *   last_hidden_state = final_layer_norm(h)
 *   pooled_output = last_hidden_state[b, first position where ids == eos_token_id]
 *   text_embeds = pooled_output · text_projection.weightᵀ (no bias, not normalised: clip_text_pooled)
 *
 * Attention as HF eager CLIPAttention: q = q_proj(x)·head_dim^-0.5 (scale after the bias, before the product),
 * scores = q·kᵀ per head (heads split the hidden axis in order), + causal mask, + padding mask, softmax, ·v.
 * Masks are additive float32 with torch.finfo(float32).min for masked entries; where both apply the sum
 * overflows to -inf exactly as in PyTorch (harmless: every row keeps key 0, and a row masked everywhere
 * gets the same uniform weights over its causal keys as in HF).
 * Padding: HF masks key j wherever attention_mask[b,j] != 1 (it computes 1 - mask and masks non-zeros), for
 * every query, padding queries included. An all-ones mask is exactly "no mask" (only the causal part).
 *
 * Output names equal the golden tensor names (text_encoder_forward.safetensors) so the CLI can write them
 * directly: hidden_states_last_layer, last_hidden_state, pooled_output, text_embeds.
 */
import { gelu, layerNormAffine } from '../onnx/ops.ts';
import { ConfigError } from './cascade-config.ts';
import { ModelContext, type Precision } from './model-context.ts';

/** The config.json fields the text tower uses (HF CLIPTextConfig names). */
export interface ClipTextConfig {
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  max_position_embeddings: number;
  vocab_size: number;
  projection_dim: number;
  layer_norm_eps: number;
  hidden_act: ClipActivation;
  eos_token_id: number;
}

export type ClipActivation = 'gelu' | 'quick_gelu';

/** transformers CLIPTextConfig defaults (used for fields a config.json leaves out, as from_dict does). */
const HF_DEFAULTS: ClipTextConfig = {
  hidden_size: 512, intermediate_size: 2048, num_attention_heads: 8, num_hidden_layers: 12,
  max_position_embeddings: 77, vocab_size: 49408, projection_dim: 512, layer_norm_eps: 1e-5,
  hidden_act: 'quick_gelu', eos_token_id: 49407,
};

/** laion/CLIP-ViT-bigG-14-laion2B-39B-b160k text tower (spec §2.1): 694,659,840 parameters. */
export const CLIP_BIGG_TEXT_PRESET: ClipTextConfig = {
  hidden_size: 1280, intermediate_size: 5120, num_attention_heads: 20, num_hidden_layers: 32,
  max_position_embeddings: 77, vocab_size: 49408, projection_dim: 1280, layer_norm_eps: 1e-5,
  hidden_act: 'gelu', eos_token_id: 49407,
};

/** The legacy eos id of old CLIP configs; HF then pools at argmax(input_ids) instead of the first eos. */
const LEGACY_EOS_ID = 2;

/** torch.finfo(torch.float32).min, HF's additive mask value. */
const MASK_MIN = -3.4028234663852886e38;

/**
 * Parses a Hugging Face config.json: a CLIPTextConfig (model_type clip_text_model) or a full CLIPConfig, whose
 * `text_config` is used. Extra fields are ignored (config files carry many unrelated ones); missing ones take
 * transformers' defaults.
 */
export function parseClipTextConfig(raw: unknown): ClipTextConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CLIP text config must be a JSON object');
  let obj = raw as Record<string, unknown>;
  if (typeof obj.text_config === 'object' && obj.text_config !== null) obj = obj.text_config as Record<string, unknown>;
  const cfg: ClipTextConfig = { ...HF_DEFAULTS };
  const ints = ['hidden_size', 'intermediate_size', 'num_attention_heads', 'num_hidden_layers', 'max_position_embeddings',
    'vocab_size', 'projection_dim', 'eos_token_id'] as const;
  for (const k of ints) {
    const v = obj[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(`CLIP text config: ${k} must be a non-negative integer (got ${JSON.stringify(v)})`);
    cfg[k] = v;
  }
  if (obj.layer_norm_eps !== undefined) {
    if (typeof obj.layer_norm_eps !== 'number' || !(obj.layer_norm_eps > 0)) throw new ConfigError(`CLIP text config: layer_norm_eps must be positive`);
    cfg.layer_norm_eps = obj.layer_norm_eps;
  }
  if (obj.hidden_act !== undefined) {
    if (obj.hidden_act !== 'gelu' && obj.hidden_act !== 'quick_gelu') {
      throw new ConfigError(`CLIP text config: hidden_act ${JSON.stringify(obj.hidden_act)} is not supported (gelu or quick_gelu)`);
    }
    cfg.hidden_act = obj.hidden_act;
  }
  validateClipText(cfg);
  return cfg;
}

function validateClipText(c: ClipTextConfig): void {
  for (const k of ['hidden_size', 'intermediate_size', 'num_attention_heads', 'num_hidden_layers', 'max_position_embeddings', 'vocab_size', 'projection_dim'] as const) {
    if (!(c[k] >= 1)) throw new ConfigError(`CLIP text config: ${k} must be at least 1 (got ${c[k]})`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new ConfigError(`CLIP text config: num_attention_heads ${c.num_attention_heads} does not divide hidden_size ${c.hidden_size}`);
  }
}

export interface ClipTextBuildOptions {
  precision?: Precision;
  /**
   * Use com.microsoft MultiHeadAttention (one kernel; scale applied to q·kᵀ instead of q, so rounding differs
   * from HF by ~1e-7) instead of MatMul/Softmax/MatMul. Default false (exactness first).
   */
  fusedAttention?: boolean;
  /** Graph name (also the external-data chunk prefix). */
  name?: string;
}

/**
 * Builds the text encoder. Inputs: input_ids [B,L] int64, attention_mask [B,L] int64 (1 = token, 0 = padding);
 * L is dynamic up to max_position_embeddings (77 for tokenizer output). Outputs:
 * hidden_states_last_layer [B,L,H], last_hidden_state [B,L,H], pooled_output [B,H], text_embeds [B,P].
 */
export function buildClipTextEncoder(config: ClipTextConfig, options: ClipTextBuildOptions = {}): ModelContext {
  validateClipText(config);
  const ctx = new ModelContext(options.name ?? 'clip_text', { precision: options.precision });
  const g = ctx.g;
  const H = config.hidden_size;
  const nh = config.num_attention_heads;
  const d = H / nh;
  const eps = config.layer_norm_eps;
  const ids = g.input('input_ids', 'int64', ['B', 'L']);
  const mask = g.input('attention_mask', 'int64', ['B', 'L']);
  // Everything derived from the int64 inputs goes through Gather (int64 indices are the one int64 use the
  // WebGPU EP supports; its Cast/Equal take no int64) and nothing through Shape/Range (shape ops run on the CPU in
  // a GPU session: a round trip per call). So no node of this graph is placed on the CPU.
  let positionsF = '';

  // Embeddings [B,L,H]. The token table is the biggest tensor (49408×1280 for bigG): fp16 in fp16 builds,
  // gathered then cast (a row lookup, so only the table's rounding enters); fp32 in int8/int4 builds, which run
  // on GPUs without shader-f16 (engine/placement.ts), where an fp16 Gather cannot run.
  const h0 = g.scope('embeddings', () => {
    const tableDtype = ctx.precision === 'fp16' ? 'float16' : 'float32';
    const table = ctx.param('text_model.embeddings.token_embedding.weight', [config.vocab_size, H], [config.vocab_size, H], tableDtype);
    let tok = g.node('Gather', [table, ids], { axis: 0 });
    if (tableDtype === 'float16') tok = g.node('Cast', [tok], { to: 1 });
    const posTable = ctx.param('text_model.embeddings.position_embedding.weight', [config.max_position_embeddings, H]);
    // Positions 0…L−1 [L] as float32: a cumulative sum of L ones (exact) taken from the first row's embeddings.
    const firstRow = g.node('Gather', [g.node('Gather', [tok, g.i64([0], [])], { axis: 0 }), g.i64([0], [])], { axis: 1 }); // [L]
    const ones = g.node('Add', [g.node('Mul', [firstRow, g.f32([0], [])]), g.f32([1], [])]);
    positionsF = g.node('Sub', [g.node('CumSum', [ones, g.i64([0], [])]), g.f32([1], [])]);
    const pos = g.node('Gather', [posTable, g.node('Cast', [positionsF], { to: 6 })], { axis: 0 }); // positions 0..L-1, [L,H]
    return g.node('Add', [tok, pos]);
  });

  // Additive attention bias [B,1,L,L] = causal [L,L] + padding [B,1,1,L] (see the file comment).
  const bias = g.scope('mask', () => {
    const minV = g.f32([MASK_MIN], []);
    const zero = g.f32([0], []);
    const future = g.node('Greater', [g.node('Unsqueeze', [positionsF, g.i64([0])]), g.node('Unsqueeze', [positionsF, g.i64([1])])]); // [L,L]: key j > query i
    const causal = g.node('Where', [future, minV, zero]);
    // A lookup [min, 0] by mask value: the mask must hold 0 or 1 (what tokenizers produce; another value is an
    // out-of-range index error, where HF would mask it).
    const pad = g.node('Unsqueeze', [g.node('Gather', [g.f32([MASK_MIN, 0], [2]), mask], { axis: 0 }), g.i64([1, 2])]); // [B,1,1,L]
    return g.node('Add', [causal, pad]);
  });

  let h = h0;
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `text_model.encoder.layers.${i}`;
    h = g.scope(`layer${i}`, () => {
      const ln1 = layerNormAffine(g, h, ctx.param(`${p}.layer_norm1.weight`, [H]), ctx.param(`${p}.layer_norm1.bias`, [H]), eps);
      const attn = selfAttention(ctx, ln1, `${p}.self_attn`, H, nh, d, bias, options.fusedAttention ?? false);
      const r1 = g.node('Add', [h, attn]);
      const ln2 = layerNormAffine(g, r1, ctx.param(`${p}.layer_norm2.weight`, [H]), ctx.param(`${p}.layer_norm2.bias`, [H]), eps);
      let m = ctx.linear(ln2, `${p}.mlp.fc1`, H, config.intermediate_size);
      m = activation(ctx, m, config.hidden_act);
      m = ctx.linear(m, `${p}.mlp.fc2`, config.intermediate_size, H);
      return g.node('Add', [r1, m]);
    });
  }
  g.output(h, 'hidden_states_last_layer', 'float32', ['B', 'L', H]);

  const last = layerNormAffine(g, h, ctx.param('text_model.final_layer_norm.weight', [H]), ctx.param('text_model.final_layer_norm.bias', [H]), eps);
  g.output(last, 'last_hidden_state', 'float32', ['B', 'L', H]);

  // Pooling position [B]: first index where ids == eos (ArgMax returns the first maximum), or argmax(ids)
  // for the legacy eos id 2, as HF does. ArgMax runs on float (ids < 2^24 are exact in float32).
  // The key is a lookup by id (a vocab-sized float table, ids < 2^24 exact): 1 at eos, else 0; or the id itself.
  const keyTable = Float32Array.from({ length: config.vocab_size }, (_, i) => (config.eos_token_id === LEGACY_EOS_ID ? i : i === config.eos_token_id ? 1 : 0));
  const key = g.node('Gather', [g.f32(Array.from(keyTable), [config.vocab_size]), ids], { axis: 0 }); // [B,L]
  const where = g.node('ArgMax', [key], { axis: 1, keepdims: 1, select_last_index: 0 }); // [B,1]
  const pooled = g.node('GatherND', [last, where], { batch_dims: 1 }); // [B,H]
  g.output(pooled, 'pooled_output', 'float32', ['B', H]);

  const embeds = ctx.linear(pooled, 'text_projection', H, config.projection_dim, false);
  g.output(embeds, 'text_embeds', 'float32', ['B', config.projection_dim]);
  return ctx;
}

/** CLIPAttention on x [B,L,H] with additive bias [B,1,L,L] → out_proj output [B,L,H]. */
function selfAttention(ctx: ModelContext, x: string, prefix: string, H: number, nh: number, d: number, bias: string, fused: boolean): string {
  const g = ctx.g;
  const q = ctx.linear(x, `${prefix}.q_proj`, H, H);
  const k = ctx.linear(x, `${prefix}.k_proj`, H, H);
  const v = ctx.linear(x, `${prefix}.v_proj`, H, H);
  let o: string;
  if (fused) {
    // Inputs: query, key, value, bias, key_padding_mask, attention_bias ([B or 1, N or 1, S, T]).
    o = g.node('MultiHeadAttention', [q, k, v, '', '', bias], { num_heads: nh, scale: { float: Math.fround(d ** -0.5) } }, { domain: 'com.microsoft' });
  } else {
    // float32 scale as PyTorch rounds the Python scalar; applied to q as HF's eager path does.
    const qs = g.node('Mul', [q, g.f32([d ** -0.5], [])]);
    const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, g.i64([0, 0, nh, d])])], { perm });
    const qh = heads(qs, [0, 2, 1, 3]); // [B,nh,L,d]
    const kh = heads(k, [0, 2, 3, 1]); // [B,nh,d,L]
    const vh = heads(v, [0, 2, 1, 3]); // [B,nh,L,d]
    const scores = g.node('Add', [g.node('MatMul', [qh, kh]), bias]); // [B,nh,L,L]
    const probs = g.node('Softmax', [scores], { axis: -1 });
    o = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }), g.i64([0, 0, H])]);
  }
  return ctx.linear(o, `${prefix}.out_proj`, H, H);
}

/** gelu = exact erf GELU (nn.functional.gelu); quick_gelu = x·sigmoid(1.702·x) (OpenAI CLIP's). */
function activation(ctx: ModelContext, x: string, act: ClipActivation): string {
  const g = ctx.g;
  if (act === 'gelu') return gelu(g, x);
  return g.node('Mul', [x, g.node('Sigmoid', [g.node('Mul', [x, g.f32([1.702], [])])])]);
}

/** Parameters of the text tower from the config (equals buildClipTextEncoder(config).parameterCount()). */
export function clipTextParameterCount(c: ClipTextConfig): number {
  const H = c.hidden_size;
  const I = c.intermediate_size;
  const layer = 4 * (H * H + H) + 2 * 2 * H + (H * I + I) + (I * H + H);
  return c.vocab_size * H + c.max_position_embeddings * H + c.num_hidden_layers * layer + 2 * H + c.projection_dim * H;
}
