/**
 * Hugging Face ViTForImageClassification (transformers models/vit/modeling_vit.py, eager attention) as an ONNX
 * graph built with our own tools, so a classifier published only as safetensors (Falconsai/nsfw_image_detection)
 * can be converted here and loaded by transformers.js' image-classification pipeline, which feeds
 * `pixel_values` [B,C,H,W] float32 and reads `logits` [B,num_labels].
 *
 * Forward (pre-LN encoder; `ViTModel(add_pooling_layer=False)` inside the classifier, so no pooler):
 *   patches = Conv2d(C→D, kernel = stride = patch_size)(pixel_values) → flatten → [B,N,D]
 *   h = concat(cls_token, patches) + position_embeddings            (N+1 tokens; no interpolation: the input
 *                                                                     must be image_size², as HF requires too)
 *   per layer: h = h + attention.output.dense(MHA(layernorm_before(h)))
 *              h = h + output.dense(gelu(intermediate.dense(layernorm_after(h))))
 *   logits = classifier(vit.layernorm(h)[:, 0])
 * Attention as HF eager: q,k,v = Linear(x) (bias iff qkv_bias), heads split the hidden axis in order,
 * scores = (q·kᵀ)·head_dim^-0.5 (scale after the product), softmax over keys, ·v, heads merged in order.
 * Dropout is inference-off. GELU is exact erf GELU (hidden_act "gelu").
 *
 * Weight names are the HF checkpoint names (vit.embeddings.cls_token, …, classifier.weight); `bind()` reports
 * every missing / unexpected / mis-shaped tensor at once. A stray `vit.pooler.*` (checkpoints saved from a
 * ViTModel with pooler) is ignored, since the classifier never uses it.
 */
import { gelu, layerNormAffine } from '../onnx/ops.ts';
import { serializeGraph } from '../onnx/serialize.ts';
import { ConfigError } from './cascade-config.ts';
import { ModelContext, type Precision } from './model-context.ts';
import type { WeightSource } from './weight-source.ts';
import type { SafetensorsFile } from '../weights/safetensors.ts';

/** The config.json fields the classifier uses (HF ViTConfig names), with id2label resolved to an ordered list. */
export interface ViTClassifierConfig {
  image_size: number;
  patch_size: number;
  num_channels: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu';
  layer_norm_eps: number;
  qkv_bias: boolean;
  /** labels[i] = id2label[i]; the logits axis has labels.length entries. */
  labels: string[];
}

/** transformers ViTConfig defaults (google/vit-base-patch16-224), used for fields a config.json leaves out. */
const HF_DEFAULTS: Omit<ViTClassifierConfig, 'labels'> = {
  image_size: 224, patch_size: 16, num_channels: 3, hidden_size: 768, num_hidden_layers: 12,
  num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu', layer_norm_eps: 1e-12, qkv_bias: true,
};

/**
 * Parses a Hugging Face ViT config.json. id2label is required (it defines the logits axis; HF's default
 * LABEL_0/LABEL_1 would make "nsfw" unfindable) and must cover ids 0..n-1 exactly.
 */
export function parseViTClassifierConfig(raw: unknown): ViTClassifierConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('ViT config must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const cfg = { ...HF_DEFAULTS, labels: [] as string[] };
  const ints = ['image_size', 'patch_size', 'num_channels', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'] as const;
  for (const k of ints) {
    const v = obj[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`ViT config: ${k} must be a positive integer (got ${JSON.stringify(v)})`);
    cfg[k] = v;
  }
  if (obj.layer_norm_eps !== undefined) {
    if (typeof obj.layer_norm_eps !== 'number' || !(obj.layer_norm_eps > 0)) throw new ConfigError('ViT config: layer_norm_eps must be positive');
    cfg.layer_norm_eps = obj.layer_norm_eps;
  }
  if (obj.qkv_bias !== undefined) {
    if (typeof obj.qkv_bias !== 'boolean') throw new ConfigError('ViT config: qkv_bias must be a boolean');
    cfg.qkv_bias = obj.qkv_bias;
  }
  if (obj.hidden_act !== undefined && obj.hidden_act !== 'gelu') {
    throw new ConfigError(`ViT config: hidden_act ${JSON.stringify(obj.hidden_act)} is not supported (only exact "gelu")`);
  }
  const id2label = obj.id2label;
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) throw new ConfigError('ViT config: id2label (object) is required');
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels: string[] = new Array<string>(entries.length);
  for (const [k, v] of entries) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || labels[id] !== undefined || typeof v !== 'string') {
      throw new ConfigError(`ViT config: id2label must map ids 0..${entries.length - 1} to strings (bad entry ${JSON.stringify(k)}: ${JSON.stringify(v)})`);
    }
    labels[id] = v;
  }
  cfg.labels = labels;
  validateViT(cfg);
  return cfg;
}

function validateViT(c: ViTClassifierConfig): void {
  if (c.image_size % c.patch_size !== 0) throw new ConfigError(`ViT config: patch_size ${c.patch_size} does not divide image_size ${c.image_size}`);
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new ConfigError(`ViT config: num_attention_heads ${c.num_attention_heads} does not divide hidden_size ${c.hidden_size}`);
  }
  if (c.labels.length < 1) throw new ConfigError('ViT config: id2label is empty');
}

/** Number of patch tokens (without CLS). */
export function vitPatchCount(c: ViTClassifierConfig): number {
  return (c.image_size / c.patch_size) ** 2;
}

/** The config.json a ViTForImageClassification checkpoint carries (what transformers.js reads: id2label, model_type). */
export function vitConfigJson(c: ViTClassifierConfig): Record<string, unknown> {
  return {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    image_size: c.image_size,
    patch_size: c.patch_size,
    num_channels: c.num_channels,
    hidden_size: c.hidden_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    intermediate_size: c.intermediate_size,
    hidden_act: c.hidden_act,
    layer_norm_eps: c.layer_norm_eps,
    qkv_bias: c.qkv_bias,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    id2label: Object.fromEntries(c.labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(c.labels.map((l, i) => [l, i])),
    problem_type: 'single_label_classification',
  };
}

export interface ViTBuildOptions {
  precision?: Precision;
  /** Graph name. */
  name?: string;
}

/**
 * Builds the classifier. Input pixel_values [batch_size, C, S, S] float32 (S = image_size; batch dynamic),
 * output logits [batch_size, num_labels] float32.
 */
export function buildViTForImageClassification(config: ViTClassifierConfig, options: ViTBuildOptions = {}): ModelContext {
  validateViT(config);
  const ctx = new ModelContext(options.name ?? 'vit_classifier', { precision: options.precision, ignoredPrefixes: ['vit.pooler.'] });
  const g = ctx.g;
  const D = config.hidden_size;
  const C = config.num_channels;
  const P = config.patch_size;
  const S = config.image_size;
  const N = vitPatchCount(config);
  const nh = config.num_attention_heads;
  const d = D / nh;
  const eps = config.layer_norm_eps;
  const L = config.labels.length;
  const x = g.input('pixel_values', 'float32', ['batch_size', C, S, S]);

  const h0 = g.scope('embeddings', () => {
    const e = 'vit.embeddings';
    const w = ctx.param(`${e}.patch_embeddings.projection.weight`, [D, C, P, P]);
    const b = ctx.param(`${e}.patch_embeddings.projection.bias`, [D]);
    const conv = g.node('Conv', [x, w, b], { kernel_shape: [P, P], strides: [P, P] }); // [B,D,S/P,S/P]
    // flatten(2).transpose(1,2): patch order is row-major over the patch grid, as in HF.
    const patches = g.node('Transpose', [g.node('Reshape', [conv, g.i64([0, D, N])])], { perm: [0, 2, 1] }); // [B,N,D]
    const cls = ctx.param(`${e}.cls_token`, [1, 1, D]);
    const clsB = g.node('Expand', [cls, g.node('Concat', [g.node('Shape', [x], { start: 0, end: 1 }), g.i64([1, D])], { axis: 0 })]); // [B,1,D]
    const tokens = g.node('Concat', [clsB, patches], { axis: 1 }); // [B,N+1,D]
    return g.node('Add', [tokens, ctx.param(`${e}.position_embeddings`, [1, N + 1, D])]);
  });

  let h = h0;
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `vit.encoder.layer.${i}`;
    h = g.scope(`layer${i}`, () => {
      const ln1 = layerNormAffine(g, h, ctx.param(`${p}.layernorm_before.weight`, [D]), ctx.param(`${p}.layernorm_before.bias`, [D]), eps);
      const attn = selfAttention(ctx, ln1, `${p}.attention`, D, nh, d, config.qkv_bias);
      const r1 = g.node('Add', [h, attn]);
      const ln2 = layerNormAffine(g, r1, ctx.param(`${p}.layernorm_after.weight`, [D]), ctx.param(`${p}.layernorm_after.bias`, [D]), eps);
      const m = ctx.linear(gelu(g, ctx.linear(ln2, `${p}.intermediate.dense`, D, config.intermediate_size)), `${p}.output.dense`, config.intermediate_size, D);
      return g.node('Add', [r1, m]);
    });
  }
  const last = layerNormAffine(g, h, ctx.param('vit.layernorm.weight', [D]), ctx.param('vit.layernorm.bias', [D]), eps);
  const clsOut = g.node('Gather', [last, g.i64([0], [])], { axis: 1 }); // [B,D]: the CLS token
  g.output(ctx.linear(clsOut, 'classifier', D, L), 'logits', 'float32', ['batch_size', L]);
  return ctx;
}

/** ViTAttention (self-attention + ViTSelfOutput.dense) on x [B,T,D] → [B,T,D]. */
function selfAttention(ctx: ModelContext, x: string, prefix: string, D: number, nh: number, d: number, qkvBias: boolean): string {
  const g = ctx.g;
  const q = ctx.linear(x, `${prefix}.attention.query`, D, D, qkvBias);
  const k = ctx.linear(x, `${prefix}.attention.key`, D, D, qkvBias);
  const v = ctx.linear(x, `${prefix}.attention.value`, D, D, qkvBias);
  const heads = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, g.i64([0, 0, nh, d])])], { perm });
  const qh = heads(q, [0, 2, 1, 3]); // [B,nh,T,d]
  const kh = heads(k, [0, 2, 3, 1]); // [B,nh,d,T]
  const vh = heads(v, [0, 2, 1, 3]); // [B,nh,T,d]
  // HF eager ViT scales the product (float32 scalar), not q.
  const scores = g.node('Mul', [g.node('MatMul', [qh, kh]), g.f32([d ** -0.5], [])]);
  const probs = g.node('Softmax', [scores], { axis: -1 });
  const o = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, vh])], { perm: [0, 2, 1, 3] }), g.i64([0, 0, D])]);
  return ctx.linear(o, `${prefix}.output.dense`, D, D);
}

/** Parameters the classifier takes from a checkpoint (equals buildViTForImageClassification(c).parameterCount()). */
export function vitParameterCount(c: ViTClassifierConfig): number {
  const D = c.hidden_size;
  const I = c.intermediate_size;
  const N = vitPatchCount(c);
  const layer = 3 * (D * D + (c.qkv_bias ? D : 0)) + (D * D + D) + 2 * 2 * D + (D * I + I) + (I * D + D);
  return D * c.num_channels * c.patch_size ** 2 + D + D + (N + 1) * D + c.num_hidden_layers * layer + 2 * D + (D * c.labels.length + c.labels.length);
}

/**
 * Binds `weights` and serializes ONE self-contained model.onnx (every weight embedded as an initializer), the
 * layout transformers.js loads without external-data options. Consumes `ctx`: its graph's weights are moved
 * into embedded constants, so the context cannot be serialized again. Every weight is in memory at once, and
 * then again in the output: for small hand-built classifiers (tiny-classifier.ts) only; checkpoints are
 * converted by convertViTCheckpoint, which streams.
 */
export async function compileSelfContainedOnnx(ctx: ModelContext, weights: WeightSource, docString?: string): Promise<Uint8Array> {
  ctx.bind(weights);
  const g = ctx.g;
  for (const w of g.weights.splice(0)) g.constants.push({ name: w.name, dtype: w.dtype, dims: w.dims, raw: await w.bytes() });
  return serializeGraph(g, docString ? { docString } : {}).modelBytes;
}

/** A WeightSource over one Hugging Face model.safetensors (names are already the HF names the builder uses). */
export function safetensorsWeightSource(file: SafetensorsFile): WeightSource {
  return {
    description: file.name,
    get: (name) => (file.tensors.has(name) ? { shape: file.info(name).shape, read: () => file.readFloat32(name) } : undefined),
    names: () => file.tensors.keys(),
  };
}

/** transformers.js' external-data file names for onnx/model.onnx (its getExternalDataChunkNames): model.onnx_data, model.onnx_data_1, … */
export function vitExternalDataName(index: number): string {
  return `model.onnx_data${index === 0 ? '' : `_${index}`}`;
}

/** One file of a converted checker: its path in the model folder, its size, and the producer of its bytes. */
export interface ConvertedFile {
  readonly path: string;
  readonly bytes: number;
  read(): Promise<Uint8Array>;
}

export interface ViTConvertOptions {
  /** Largest external-data file (a single bigger tensor gets a file alone); default 64 MiB, as for the networks. */
  maxChunkBytes?: number;
}

/**
 * Converts a Hugging Face ViTForImageClassification repo (config.json, preprocessor_config.json,
 * model.safetensors — what Falconsai/nsfw_image_detection publishes) into the folder transformers.js loads:
 * - preprocessor_config.json unchanged;
 * - onnx/model.onnx, the graph, with every weight (fp32) in external-data files onnx/model.onnx_data,
 *   model.onnx_data_1, … (serializeGraph's chunks, as the networks are written; ViT-base is 6 files);
 * - config.json = the original plus `transformers.js_config.use_external_data_format = {"model.onnx": <files>}`,
 *   which makes transformers.js fetch those files and hand them to onnxruntime with the graph.
 * Nothing is read here (bind only checks names and shapes). Each file's bytes come from its read(); a data
 * file reads just its own tensors from `weights` by byte range. Writing the files one at a time therefore holds
 * one data file plus the tensor being converted into it, never the whole checkpoint (the streaming invariant
 * src/store/convert-component.ts relies on; vit-classifier.test.ts counts it).
 */
export function convertViTCheckpoint(
  configJson: Uint8Array,
  preprocessorConfigJson: Uint8Array,
  weights: SafetensorsFile,
  options: ViTConvertOptions = {},
): ConvertedFile[] {
  const raw = JSON.parse(new TextDecoder().decode(configJson)) as Record<string, unknown>;
  const ctx = buildViTForImageClassification(parseViTClassifierConfig(raw));
  ctx.bind(safetensorsWeightSource(weights));
  const serialized = serializeGraph(ctx.g, {
    chunkPath: vitExternalDataName,
    maxChunkBytes: options.maxChunkBytes,
    docString: `ViTForImageClassification converted from ${weights.name} by sote-webgpu`,
  });
  const tjs = raw['transformers.js_config'];
  const config = new TextEncoder().encode(JSON.stringify({
    ...raw,
    'transformers.js_config': {
      ...(typeof tjs === 'object' && tjs !== null && !Array.isArray(tjs) ? tjs : {}),
      use_external_data_format: { 'model.onnx': serialized.chunks.length },
    },
  }, null, 2));
  const inMemory = (path: string, bytes: Uint8Array): ConvertedFile => ({ path, bytes: bytes.byteLength, read: async () => bytes });
  return [
    inMemory('config.json', config),
    inMemory('preprocessor_config.json', preprocessorConfigJson),
    inMemory('onnx/model.onnx', serialized.modelBytes),
    ...serialized.chunks.map((c, i): ConvertedFile => ({ path: `onnx/${c.path}`, bytes: c.size, read: () => serialized.chunkBytes(i) })),
  ];
}
