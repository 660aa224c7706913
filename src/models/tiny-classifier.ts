/**
 * A tiny "NSFW" classifier in the exact layout of a Hugging Face image-classification repo (config.json,
 * preprocessor_config.json, onnx/model.onnx), built by our ViT builder, whose decision is known by construction:
 *
 *   logit_nsfw − logit_normal = GAIN · (mean pixel_value − THRESHOLD)
 *
 * where pixel_value = (level/255 − 0.5)/0.5 ∈ [−1, 1] is what ViTImageProcessor feeds (rescale 1/255, mean/std
 * 0.5) and the mean runs over all channels and pixels of the resized image. So P(nsfw) = sigmoid(that): a white
 * image gives sigmoid(GAIN) ≈ 0.9997 (flagged), a black one sigmoid(−GAIN) ≈ 0.0003 (passes), mid-grey ≈ 0.5.
 * It exists for tests: both branches of the safety checker run end to end through the real pipeline.
 *
 * How the weights realise it (a 1-layer ViT, hidden 16):
 * - patch conv: channel 0 = +mean of the patch's values, channel 1 = −mean; all else 0; cls and position 0.
 *   Every token is then [m, −m, 0, …]: its hidden-axis mean is 0.
 * - layer_norm_eps = 1e12 and every LayerNorm weight = 1e6: the token variance (≤ 1) is far below half an ulp
 *   of 1e12 in float32 (32768), so var + eps rounds to exactly 1e12 and LN(x) = (x − 0)/1e6·1e6 = x up to float
 *   rounding. The LayerNorms become the identity on these tokens instead of erasing their magnitude.
 * - query/key weights 0 → all scores 0 → uniform attention over the N+1 tokens; value and attention output
 *   = identity, so the CLS token becomes N/(N+1)·[M, −M, 0, …] with M = mean of the patch means = the image mean.
 * - MLP output weights 0 (residual only); classifier row "nsfw" = GAIN·(N+1)/N·[½, −½, 0, …], bias
 *   −GAIN·THRESHOLD; row "normal" = 0.
 */
import { mapWeightSource } from './weight-source.ts';
import { encodeSafetensors, type TensorToWrite } from '../weights/safetensors-writer.ts';
import { buildViTForImageClassification, compileSelfContainedOnnx, vitConfigJson, vitPatchCount, type ViTClassifierConfig } from './vit-classifier.ts';

export const TINY_NSFW_GAIN = 8;
/** In pixel_value units: 0 is level 127.5 of 255. */
export const TINY_NSFW_THRESHOLD = 0;

export const TINY_NSFW_CONFIG: ViTClassifierConfig = {
  image_size: 32, patch_size: 16, num_channels: 3, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
  intermediate_size: 16, hidden_act: 'gelu', layer_norm_eps: 1e12, qkv_bias: true, labels: ['normal', 'nsfw'],
};

/** ViTImageProcessor settings of Falconsai/nsfw_image_detection (and google/vit-*), at the tiny size. */
export function vitPreprocessorConfig(size: number): Record<string, unknown> {
  return {
    image_processor_type: 'ViTImageProcessor',
    do_resize: true,
    size: { height: size, width: size },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
  };
}

/** P(nsfw) the tiny classifier gives an image whose resized pixels average `meanLevel` (0..255). */
export function tinyNsfwProbability(meanLevel: number, threshold = TINY_NSFW_THRESHOLD): number {
  const pv = (meanLevel / 255 - 0.5) / 0.5;
  return 1 / (1 + Math.exp(-TINY_NSFW_GAIN * (pv - threshold)));
}

/** The tiny classifier's weights (HF names), as a WeightSource matching buildViTForImageClassification. */
export function tinyNsfwWeights(c: ViTClassifierConfig = TINY_NSFW_CONFIG, threshold = TINY_NSFW_THRESHOLD) {
  const D = c.hidden_size;
  const C = c.num_channels;
  const P = c.patch_size;
  const N = vitPatchCount(c);
  const I = c.intermediate_size;
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], fill?: (data: Float32Array) => void) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill?.(data);
    t.set(name, { shape, data });
  };
  const identity = (data: Float32Array) => { for (let i = 0; i < D; i++) data[i * D + i] = 1; };
  const lnScale = (data: Float32Array) => data.fill(1e6);
  put('vit.embeddings.patch_embeddings.projection.weight', [D, C, P, P], (w) => {
    const per = C * P * P;
    for (let j = 0; j < per; j++) { w[j] = 1 / per; w[per + j] = -1 / per; } // output channels 0 and 1
  });
  put('vit.embeddings.patch_embeddings.projection.bias', [D]);
  put('vit.embeddings.cls_token', [1, 1, D]);
  put('vit.embeddings.position_embeddings', [1, N + 1, D]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `vit.encoder.layer.${i}`;
    put(`${p}.layernorm_before.weight`, [D], lnScale);
    put(`${p}.layernorm_before.bias`, [D]);
    for (const n of ['query', 'key']) {
      put(`${p}.attention.attention.${n}.weight`, [D, D]);
      if (c.qkv_bias) put(`${p}.attention.attention.${n}.bias`, [D]);
    }
    put(`${p}.attention.attention.value.weight`, [D, D], identity);
    if (c.qkv_bias) put(`${p}.attention.attention.value.bias`, [D]);
    put(`${p}.attention.output.dense.weight`, [D, D], identity);
    put(`${p}.attention.output.dense.bias`, [D]);
    put(`${p}.layernorm_after.weight`, [D], lnScale);
    put(`${p}.layernorm_after.bias`, [D]);
    put(`${p}.intermediate.dense.weight`, [I, D]);
    put(`${p}.intermediate.dense.bias`, [I]);
    put(`${p}.output.dense.weight`, [D, I]);
    put(`${p}.output.dense.bias`, [D]);
  }
  put('vit.layernorm.weight', [D], lnScale);
  put('vit.layernorm.bias', [D]);
  const nsfw = c.labels.indexOf('nsfw');
  if (nsfw < 0) throw new Error('tiny classifier: config has no "nsfw" label');
  // One layer of uniform attention leaves N/(N+1) of the patch mean on CLS; later layers would shrink it again.
  if (c.num_hidden_layers !== 1) throw new Error('tiny classifier: the construction assumes exactly one layer');
  const k = (TINY_NSFW_GAIN * (N + 1)) / N;
  put('classifier.weight', [c.labels.length, D], (w) => { w[nsfw * D] = k / 2; w[nsfw * D + 1] = -k / 2; });
  put('classifier.bias', [c.labels.length], (b) => { b[nsfw] = -TINY_NSFW_GAIN * threshold; });
  return mapWeightSource('tiny NSFW classifier (constructed)', t);
}

/**
 * The files of the tiny classifier repo, by path relative to the model folder. `threshold` (pixel_value units,
 * 0 = level 127.5) moves the decision: the demo model's checker uses 0.7 (mean level ≈ 217, near-white images).
 */
export async function tinyNsfwClassifierFiles(threshold = TINY_NSFW_THRESHOLD): Promise<Map<string, Uint8Array>> {
  const c = TINY_NSFW_CONFIG;
  const model = await compileSelfContainedOnnx(buildViTForImageClassification(c, { name: 'tiny_nsfw_vit' }), tinyNsfwWeights(c, threshold),
    'tiny ViT that flags bright images (src/models/tiny-classifier.ts)');
  const enc = new TextEncoder();
  return new Map([
    ['config.json', enc.encode(JSON.stringify(vitConfigJson(c), null, 2))],
    ['preprocessor_config.json', enc.encode(JSON.stringify(vitPreprocessorConfig(c.image_size), null, 2))],
    ['onnx/model.onnx', model],
  ]);
}

/**
 * The tiny classifier as a Hugging Face repo publishes a ViT classifier (Falconsai/nsfw_image_detection's
 * layout: config.json with id2label {0: "normal", 1: "nsfw"}, preprocessor_config.json, F32 model.safetensors),
 * i.e. what the model store downloads and converts with convertViTCheckpoint.
 */
export async function tinyNsfwPublishedFiles(threshold = TINY_NSFW_THRESHOLD): Promise<Map<string, Uint8Array>> {
  const c = TINY_NSFW_CONFIG;
  const weights = tinyNsfwWeights(c, threshold);
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of weights.names()) {
    const t = weights.get(name)!;
    tensors[name] = { dtype: 'F32', shape: t.shape, data: await t.read() };
  }
  const enc = new TextEncoder();
  return new Map([
    ['config.json', enc.encode(JSON.stringify(vitConfigJson(c), null, 2))],
    ['preprocessor_config.json', enc.encode(JSON.stringify(vitPreprocessorConfig(c.image_size), null, 2))],
    ['model.safetensors', encodeSafetensors(tensors, { format: 'pt' })],
  ]);
}
