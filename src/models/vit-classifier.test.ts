/**
 * The ViT builder against an independent plain-JS forward of HF ViTForImageClassification (written from
 * modeling_vit.py, float64, loops only: no shared code with the graph builder), on random weights, a batch of 2
 * and a config small enough to read; plus the tiny "flags bright images" classifier's logits by construction.
 */
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createNodeRunner } from '../engine/node-runner.ts';
import { compileInMemory } from './compile.ts';
import { randomWeightSource } from './demo-model.ts';
import { WeightMismatchError } from './errors.ts';
import { mapWeightSource, type WeightSource } from './weight-source.ts';
import { TorchGenerator } from '../core/torch-generator.ts';
import { TINY_NSFW_CONFIG, TINY_NSFW_GAIN, tinyNsfwClassifierFiles, tinyNsfwProbability, vitPreprocessorConfig } from './tiny-classifier.ts';
import { bytesSource } from '../weights/byte-source.ts';
import { SafetensorsFile } from '../weights/safetensors.ts';
import { DEFAULT_MAX_CHUNK_BYTES, planChunks } from '../onnx/serialize.ts';
import { encodeSafetensors, type TensorToWrite } from '../weights/safetensors-writer.ts';
import {
  buildViTForImageClassification,
  compileSelfContainedOnnx,
  convertViTCheckpoint,
  parseViTClassifierConfig,
  vitConfigJson,
  vitExternalDataName,
  vitParameterCount,
  type ViTClassifierConfig,
} from './vit-classifier.ts';

const SMALL: ViTClassifierConfig = {
  image_size: 24, patch_size: 8, num_channels: 3, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4,
  intermediate_size: 24, hidden_act: 'gelu', layer_norm_eps: 1e-12, qkv_bias: true, labels: ['a', 'b', 'c'],
};

/** Plain-JS HF ViTForImageClassification forward: pixel [B,C,S,S] → logits [B,L]. */
async function referenceForward(c: ViTClassifierConfig, w: WeightSource, pixels: Float32Array, B: number): Promise<Float64Array> {
  const get = async (n: string) => {
    const t = w.get(n);
    if (!t) throw new Error(`reference: missing ${n}`);
    return t.read();
  };
  const D = c.hidden_size, C = c.num_channels, P = c.patch_size, S = c.image_size, G = S / P, N = G * G, T = N + 1;
  const nh = c.num_attention_heads, hd = D / nh, L = c.labels.length;
  const linear = (x: number[], W: Float32Array, b: Float32Array | null, outF: number) => {
    const inF = x.length;
    const y = new Array<number>(outF);
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += W[o * inF + i] * x[i];
      y[o] = s;
    }
    return y;
  };
  const layerNorm = (x: number[], g: Float32Array, b: Float32Array) => {
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const v = x.reduce((a, t) => a + (t - mean) ** 2, 0) / x.length; // biased variance, as torch LayerNorm
    return x.map((t, i) => ((t - mean) / Math.sqrt(v + c.layer_norm_eps)) * g[i] + b[i]);
  };
  const erf = (x: number) => {
    // Abramowitz–Stegun 7.1.26 is too coarse (1.5e-7 absolute is fine here, but use a series for |x| < 3).
    const sign = x < 0 ? -1 : 1;
    const a = Math.abs(x);
    if (a > 5) return sign;
    let sum = 0, term = a, n = 0;
    while (Math.abs(term) > 1e-17 * Math.max(1, Math.abs(sum))) {
      sum += term / (2 * n + 1);
      n++;
      term *= (-a * a) / n;
    }
    return (sign * 2 * sum) / Math.sqrt(Math.PI);
  };
  const geluExact = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

  const convW = await get('vit.embeddings.patch_embeddings.projection.weight');
  const convB = await get('vit.embeddings.patch_embeddings.projection.bias');
  const cls = await get('vit.embeddings.cls_token');
  const pos = await get('vit.embeddings.position_embeddings');
  const logits = new Float64Array(B * L);
  for (let bi = 0; bi < B; bi++) {
    let h: number[][] = [];
    h.push(Array.from(cls, (v, i) => v + pos[i]));
    for (let gy = 0; gy < G; gy++) {
      for (let gx = 0; gx < G; gx++) {
        const tok = new Array<number>(D);
        for (let o = 0; o < D; o++) {
          let s = convB[o];
          for (let ch = 0; ch < C; ch++) {
            for (let i = 0; i < P; i++) {
              for (let j = 0; j < P; j++) {
                s += convW[((o * C + ch) * P + i) * P + j] * pixels[((bi * C + ch) * S + gy * P + i) * S + gx * P + j];
              }
            }
          }
          tok[o] = s + pos[(1 + gy * G + gx) * D + o];
        }
        h.push(tok);
      }
    }
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `vit.encoder.layer.${l}`;
      const a = `${p}.attention.attention`;
      const ln1 = h.map(async (x) => layerNorm(x, await get(`${p}.layernorm_before.weight`), await get(`${p}.layernorm_before.bias`)));
      const xs = await Promise.all(ln1);
      const bias = async (n: string) => (c.qkv_bias ? get(n) : null);
      const q = xs.map(async (x) => linear(x, await get(`${a}.query.weight`), await bias(`${a}.query.bias`), D));
      const k = xs.map(async (x) => linear(x, await get(`${a}.key.weight`), await bias(`${a}.key.bias`), D));
      const v = xs.map(async (x) => linear(x, await get(`${a}.value.weight`), await bias(`${a}.value.bias`), D));
      const [Q, K, V] = [await Promise.all(q), await Promise.all(k), await Promise.all(v)];
      const ctx: number[][] = Array.from({ length: T }, () => new Array<number>(D).fill(0));
      for (let head = 0; head < nh; head++) {
        for (let i = 0; i < T; i++) {
          const scores = new Array<number>(T);
          for (let j = 0; j < T; j++) {
            let s = 0;
            for (let e = 0; e < hd; e++) s += Q[i][head * hd + e] * K[j][head * hd + e];
            scores[j] = s / Math.sqrt(hd);
          }
          const m = Math.max(...scores);
          const ex = scores.map((s) => Math.exp(s - m));
          const z = ex.reduce((x, y) => x + y, 0);
          for (let j = 0; j < T; j++) for (let e = 0; e < hd; e++) ctx[i][head * hd + e] += (ex[j] / z) * V[j][head * hd + e];
        }
      }
      const ow = await get(`${p}.attention.output.dense.weight`), ob = await get(`${p}.attention.output.dense.bias`);
      h = h.map((x, i) => linear(ctx[i], ow, ob, D).map((y, e) => y + x[e]));
      const g2 = await get(`${p}.layernorm_after.weight`), b2 = await get(`${p}.layernorm_after.bias`);
      const iw = await get(`${p}.intermediate.dense.weight`), ib = await get(`${p}.intermediate.dense.bias`);
      const dw = await get(`${p}.output.dense.weight`), db = await get(`${p}.output.dense.bias`);
      h = h.map((x) => linear(linear(layerNorm(x, g2, b2), iw, ib, c.intermediate_size).map(geluExact), dw, db, D).map((y, e) => y + x[e]));
    }
    const last = layerNorm(h[0], await get('vit.layernorm.weight'), await get('vit.layernorm.bias'));
    const out = linear(last, await get('classifier.weight'), await get('classifier.bias'), L);
    logits.set(out, bi * L);
  }
  return logits;
}

function randomPixels(n: number, seed: number): Float32Array {
  return new TorchGenerator(seed).randn([n]).map((v) => Math.max(-1, Math.min(1, v * 0.6)));
}

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
};

describe('ViTForImageClassification builder', () => {
  for (const qkvBias of [true, false]) {
    it(`matches a plain-JS HF forward on random weights (qkv_bias ${qkvBias}, batch 2)`, async () => {
      const c = { ...SMALL, qkv_bias: qkvBias };
      const ctx = buildViTForImageClassification(c);
      expect(ctx.parameterCount()).toBe(vitParameterCount(c));
      const weights = randomWeightSource(ctx.expected, 7);
      const B = 2;
      const pixels = randomPixels(B * 3 * 24 * 24, 11);
      const ref = await referenceForward(c, weights, pixels, B);
      const runner = await createNodeRunner(await compileInMemory(ctx, weights), 'node');
      const out = await runner.run({ pixel_values: { dtype: 'float32', dims: [B, 3, 24, 24], data: pixels } });
      await runner.release();
      expect(out.logits.dims).toEqual([B, 3]);
      const rel = maxRel(out.logits.data as Float32Array, ref);
      console.log(`vit random weights (qkv_bias ${qkvBias}): logits ${Array.from(ref, (v) => v.toFixed(4)).join(' ')}, max rel diff ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-5);
      // The logits must depend on the input at all (a wiring bug could make them constant).
      expect(Math.abs(ref[0] - ref[3])).toBeGreaterThan(1e-3);
    });
  }

  it('self-contained model.onnx (weights embedded) gives the same logits', async () => {
    const weights = randomWeightSource(buildViTForImageClassification(SMALL).expected, 7);
    const bytes = await compileSelfContainedOnnx(buildViTForImageClassification(SMALL), weights);
    const session = await ortNode.InferenceSession.create(bytes);
    const pixels = randomPixels(3 * 24 * 24, 5);
    const out = await session.run({ pixel_values: new ortNode.Tensor('float32', pixels, [1, 3, 24, 24]) });
    await session.release();
    const ref = await referenceForward(SMALL, weights, pixels, 1);
    expect(maxRel(out.logits.data as Float32Array, ref)).toBeLessThan(1e-5);
  });

  it('converts an HF repo into the transformers.js layout with external data, reading the checkpoint one data file at a time', async () => {
    const expected = buildViTForImageClassification(SMALL).expected;
    const weights = randomWeightSource(expected, 3);
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of weights.names()) tensors[name] = { dtype: 'F32', shape: weights.get(name)!.shape, data: await weights.get(name)!.read() };
    const safetensors = encodeSafetensors(tensors);
    // Every read of the checkpoint, by size: what the conversion holds of it at once.
    const reads: number[] = [];
    const inner = bytesSource('model.safetensors', safetensors);
    const st = await SafetensorsFile.open({ ...inner, name: inner.name, read: (offset, length) => (reads.push(length), inner.read(offset, length)) });
    const headerReads = reads.length;
    const enc = new TextEncoder();
    const original = { ...vitConfigJson(SMALL), _name_or_path: 'kept as is', 'transformers.js_config': { kept: true } };
    const pre = enc.encode(JSON.stringify(vitPreprocessorConfig(24)));
    const maxChunkBytes = 4096;
    const files = convertViTCheckpoint(enc.encode(JSON.stringify(original)), pre, st, { maxChunkBytes });
    expect(reads.length, 'planning the files reads no weight').toBe(headerReads);

    const chunkNames = files.filter((f) => f.path.startsWith('onnx/model.onnx_data')).map((f) => f.path);
    expect(chunkNames.length).toBeGreaterThanOrEqual(3);
    expect(files.map((f) => f.path)).toEqual(['config.json', 'preprocessor_config.json', 'onnx/model.onnx',
      ...chunkNames.map((_, i) => `onnx/${vitExternalDataName(i)}`)]);
    expect(vitExternalDataName(0)).toBe('model.onnx_data');
    expect(vitExternalDataName(2)).toBe('model.onnx_data_2');
    const largestTensor = Math.max(...[...expected.values()].map((shape) => shape.reduce((a, d) => a * d, 4)));
    const written = new Map<string, Uint8Array>();
    for (const f of files) {
      const before = reads.length;
      const bytes = await f.read();
      expect(bytes.byteLength, f.path).toBe(f.bytes);
      const readNow = reads.slice(before);
      // A data file reads only its own tensors (each at most one tensor at a time); the other files read nothing.
      if (f.path.startsWith('onnx/model.onnx_data')) {
        expect(bytes.byteLength).toBeLessThanOrEqual(Math.max(maxChunkBytes, largestTensor));
        expect(readNow.reduce((a, b) => a + b, 0), f.path).toBeLessThanOrEqual(bytes.byteLength);
        expect(readNow.length, f.path).toBeGreaterThan(0);
      } else {
        expect(readNow, f.path).toEqual([]);
      }
      written.set(f.path, bytes);
    }
    // Over the whole conversion: every tensor read exactly once, never more than one tensor per read.
    expect(reads.slice(headerReads).reduce((a, b) => a + b, 0)).toBe(vitParameterCount(SMALL) * 4);
    expect(Math.max(...reads.slice(headerReads))).toBe(largestTensor);

    await expect(files[1].read()).resolves.toBe(pre);
    const config = JSON.parse(new TextDecoder().decode(written.get('config.json'))) as Record<string, unknown>;
    expect(config).toEqual({ ...original, 'transformers.js_config': { kept: true, use_external_data_format: { 'model.onnx': chunkNames.length } } });
    expect(parseViTClassifierConfig(config)).toEqual(SMALL);
    const runner = await createNodeRunner({
      model: written.get('onnx/model.onnx')!,
      externalData: chunkNames.map((p) => ({ path: p.slice('onnx/'.length), data: written.get(p)! })),
    });
    const pixels = randomPixels(3 * 24 * 24, 9);
    const out = await runner.run({ pixel_values: { dtype: 'float32', dims: [1, 3, 24, 24], data: pixels } });
    await runner.release();
    expect(maxRel(out.logits.data as Float32Array, await referenceForward(SMALL, weights, pixels, 1))).toBeLessThan(1e-5);
  });

  it('ViT-base (Falconsai/nsfw_image_detection) converts into 6 data files of at most 64 MiB', () => {
    const base = parseViTClassifierConfig({ id2label: { 0: 'normal', 1: 'nsfw' } });
    const ctx = buildViTForImageClassification(base);
    const chunks = planChunks(ctx.g.weights, vitExternalDataName);
    expect(chunks.map((c) => c.path)).toEqual(['model.onnx_data', ...[1, 2, 3, 4, 5].map((i) => `model.onnx_data_${i}`)]);
    expect(Math.max(...chunks.map((c) => c.size))).toBeLessThanOrEqual(DEFAULT_MAX_CHUNK_BYTES);
    expect(chunks.reduce((a, c) => a + c.entries.reduce((x, e) => x + e.length, 0), 0)).toBe(vitParameterCount(base) * 4);
  });

  it('reports missing, unexpected and mis-shaped tensors at once; ignores a pooler', async () => {
    const ctx = buildViTForImageClassification(SMALL);
    const names = [...ctx.expected.keys()];
    const t = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const n of names) {
      const shape = [...ctx.expected.get(n)!];
      t.set(n, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    }
    t.set('vit.pooler.dense.weight', { shape: [16, 16], data: new Float32Array(256) });
    expect(() => ctx.bind(mapWeightSource('ok', t))).not.toThrow();
    t.delete('classifier.bias');
    t.set('vit.embeddings.cls_token', { shape: [1, 16], data: new Float32Array(16) });
    t.set('vit.extra', { shape: [1], data: new Float32Array(1) });
    const err = (() => { try { buildViTForImageClassification(SMALL).bind(mapWeightSource('bad', t)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(WeightMismatchError);
    const msg = String((err as Error).message);
    for (const s of ['classifier.bias', 'vit.embeddings.cls_token', 'vit.extra']) expect(msg).toContain(s);
  });

  it('parses HF config.json (Falconsai-style) and rejects bad id2label / activations', () => {
    const falconsai = {
      architectures: ['ViTForImageClassification'], model_type: 'vit', hidden_act: 'gelu', hidden_size: 768, image_size: 224,
      intermediate_size: 3072, layer_norm_eps: 1e-12, num_attention_heads: 12, num_channels: 3, num_hidden_layers: 12,
      patch_size: 16, qkv_bias: true, id2label: { '0': 'normal', '1': 'nsfw' }, label2id: { normal: '0', nsfw: '1' },
    };
    const c = parseViTClassifierConfig(falconsai);
    expect(c.labels).toEqual(['normal', 'nsfw']);
    // ViT-base/16 at 224² with a 2-way head: 85,800,194 parameters (85.8 M, the card's "86M").
    expect(vitParameterCount(c)).toBe(85_800_194);
    expect(parseViTClassifierConfig(vitConfigJson(c))).toEqual(c);
    expect(() => parseViTClassifierConfig({ ...falconsai, id2label: { '0': 'a', '2': 'b' } })).toThrow(/id2label/);
    expect(() => parseViTClassifierConfig({ ...falconsai, id2label: undefined })).toThrow(/id2label/);
    expect(() => parseViTClassifierConfig({ ...falconsai, hidden_act: 'relu' })).toThrow(/hidden_act/);
    expect(() => parseViTClassifierConfig({ ...falconsai, patch_size: 15 })).toThrow(/patch_size/);
  });
});

describe('tiny NSFW classifier (flags bright images by construction)', () => {
  it('logit_nsfw − logit_normal = GAIN·mean(pixel_values) on onnxruntime-node', async () => {
    const files = await tinyNsfwClassifierFiles();
    expect([...files.keys()].sort()).toEqual(['config.json', 'onnx/model.onnx', 'preprocessor_config.json']);
    const config = parseViTClassifierConfig(JSON.parse(new TextDecoder().decode(files.get('config.json'))));
    expect(config).toEqual(TINY_NSFW_CONFIG);
    expect(JSON.parse(new TextDecoder().decode(files.get('preprocessor_config.json')))).toEqual(vitPreprocessorConfig(32));
    const session = await ortNode.InferenceSession.create(files.get('onnx/model.onnx')!);
    const S = 32, n = 3 * S * S;
    // Levels as ViTImageProcessor maps them: pv = (level/255 − 0.5)/0.5. White, black, mid-grey, and a
    // half-white/half-black image (mean exactly 0 → P = 0.5, not flagged since the rule is "> 0.5").
    const pv = (level: number) => (level / 255 - 0.5) / 0.5;
    const images: { name: string; data: Float32Array; mean: number }[] = [
      { name: 'white', data: new Float32Array(n).fill(pv(255)), mean: 255 },
      { name: 'black', data: new Float32Array(n).fill(pv(0)), mean: 0 },
      { name: 'grey 100', data: new Float32Array(n).fill(pv(100)), mean: 100 },
      { name: 'half', data: new Float32Array(n).map((_, i) => ((i % (S * S)) < (S * S) / 2 ? 1 : -1)), mean: 127.5 },
    ];
    const batch = new Float32Array(images.length * n);
    images.forEach((im, i) => batch.set(im.data, i * n));
    const out = await session.run({ pixel_values: new ortNode.Tensor('float32', batch, [images.length, 3, S, S]) });
    await session.release();
    const logits = out.logits.data as Float32Array;
    images.forEach((im, i) => {
      const diff = logits[2 * i + 1] - logits[2 * i];
      const p = 1 / (1 + Math.exp(-diff));
      console.log(`tiny classifier ${im.name}: logits [${logits[2 * i].toFixed(6)}, ${logits[2 * i + 1].toFixed(6)}], P(nsfw) ${p.toFixed(6)}`);
      expect(logits[2 * i]).toBe(0);
      expect(Math.abs(diff - TINY_NSFW_GAIN * pv(im.mean))).toBeLessThan(2e-5); // float32 rounding only
      expect(p).toBeCloseTo(tinyNsfwProbability(im.mean), 6);
    });
    expect(tinyNsfwProbability(255)).toBeGreaterThan(0.999);
    expect(tinyNsfwProbability(0)).toBeLessThan(0.001);
  });
});
