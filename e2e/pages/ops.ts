/**
 * Runs each op pattern our graphs use, on random inputs with the shapes of the tiny models, on WebGPU and on
 * WASM, and reports max|webgpu − wasm| / max|wasm| per pattern. Tells which kernel of a GPU (or SwiftShader)
 * is not exact enough when a whole-model comparison fails.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { Graph } from '../../src/onnx/graph.ts';
import { gelu, layerNormLastAxis, nchwToNhwc, pixelUnshuffleToNhwc, resizeBilinearAlignCorners, roundHalfEven, shapeOf } from '../../src/onnx/ops.ts';
import { serializeToMemory } from '../../src/onnx/serialize.ts';
import { ModelContext } from '../../src/models/model-context.ts';
import { multiHeadAttention, rEmbedding } from '../../src/models/cascade-blocks.ts';
import { TorchGenerator } from '../../src/core/torch-generator.ts';
import { quantizeBlockwise } from '../../src/weights/quantize.ts';

export interface OpAccuracy {
  name: string;
  rel: number;
}

declare global {
  interface Window {
    opsReady?: boolean;
    opAccuracy?: () => Promise<OpAccuracy[]>;
  }
}

type Case = { name: string; build: (g: Graph, ctx: ModelContext) => void; inputs: Record<string, number[]> };

const cases: Case[] = [
  { name: 'gelu (Gelu-20)', inputs: { x: [2, 64, 128] }, build: (g) => g.output(gelu(g, 'x'), 'y', 'float32') },
  {
    name: 'BiasGelu (com.microsoft)', inputs: { x: [2, 6, 9, 128], b: [128] },
    build: (g) => g.output(g.node('BiasGelu', ['x', 'b'], {}, { domain: 'com.microsoft' }), 'y', 'float32'),
  },
  {
    name: 'linear as Gemm on rows', inputs: { x: [2, 6, 9, 192], w: [192, 48], b: [48], like: [2, 6, 9, 48] },
    build: (g) => g.output(g.node('Reshape', [g.node('Gemm', [g.node('Reshape', ['x', g.i64([-1, 192])]), 'w', 'b']), g.node('Shape', ['like'])]), 'y', 'float32'),
  },
  {
    name: 'Split into 6 (timestep mappers)', inputs: { x: [2, 288] },
    build: (g) => g.nodeN('Split', ['x', g.i64([32, 32, 48, 48, 64, 64])], { axis: -1 }, { outputs: 6 }).forEach((o, i) => g.output(o, i === 5 ? 'y' : `y${i}`, 'float32')),
  },
  ...([4, 8] as const).map((bits): Case => ({
    name: `MatMulNBits int${bits} + bias`, inputs: { x: [2, 54, 64] },
    build: (g) => {
      const [k, n] = [64, 96];
      const q = quantizeBlockwise(new TorchGenerator(3).randn([n, k]), n, k, bits, 32);
      g.weight('w_q', 'uint8', [n, k / 32, 32 * bits / 8], async () => q.packed);
      g.weight('w_scales', 'float32', [n * (k / 32)], async () => new Uint8Array(q.scales.buffer));
      const bias = g.f32(Array.from({ length: n }, (_, i) => Math.sin(i)), [n]);
      g.output(g.node('MatMulNBits', ['x', 'w_q', 'w_scales', '', '', bias], { K: k, N: n, bits, block_size: 32 }, { domain: 'com.microsoft' }), 'y', 'float32');
    },
  })),
  { name: 'layernorm C=48', inputs: { x: [2, 54, 48] }, build: (g) => g.output(layerNormLastAxis(g, 'x', 48, 1e-6), 'y', 'float32') },
  { name: 'softmax', inputs: { x: [2, 4, 54, 62] }, build: (g) => g.output(g.node('Softmax', [g.node('Mul', ['x', g.f32([3], [])])], { axis: -1 }), 'y', 'float32') },
  { name: 'matmul 48x192', inputs: { x: [2, 54, 48], w: [48, 192] }, build: (g) => g.output(g.node('MatMul', ['x', 'w']), 'y', 'float32') },
  { name: 'reduceL2 spatial', inputs: { x: [2, 6, 9, 192] }, build: (g) => g.output(g.node('ReduceL2', ['x', g.i64([1, 2])], { keepdims: 1 }), 'y', 'float32') },
  { name: 'depthwise conv', inputs: { x: [2, 48, 6, 9], w: [48, 1, 3, 3], b: [48] }, build: (g) => g.output(g.node('Conv', ['x', 'w', 'b'], { group: 48, kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 'y', 'float32') },
  { name: 'round half even (x·255)', inputs: { x: [2, 3, 9, 7] }, build: (g) => g.output(roundHalfEven(g, g.node('Mul', ['x', g.f32([255], [])])), 'y', 'float32') },
  { name: 'pixel unshuffle 2 → NHWC', inputs: { x: [2, 4, 8, 12] }, build: (g) => g.output(pixelUnshuffleToNhwc(g, 'x', 2), 'y', 'float32') },
  {
    name: 'resize NCHW axes [2,3] to Shape', inputs: { x: [2, 16, 3, 5], like: [2, 7, 9, 8] },
    build: (g) => g.output(resizeBilinearAlignCorners(g, 'x', shapeOf(g, 'like', 1, 3)), 'y', 'float32'),
  },
  {
    name: 'resize NCHW axes → NHWC', inputs: { x: [2, 16, 6, 4], like: [2, 9, 7, 16] },
    build: (g) => g.output(nchwToNhwc(g, resizeBilinearAlignCorners(g, 'x', shapeOf(g, 'like', 1, 3))), 'y', 'float32'),
  },
  {
    name: 'r embedding (sin/cos of r·1e4)', inputs: { r: [4] },
    build: (g, ctx) => g.output(rEmbedding(ctx, 'r', 64), 'y', 'float32'),
  },
  {
    name: 'attention plain h4 d12', inputs: { q: [2, 54, 48], k: [2, 62, 48], v: [2, 62, 48] },
    build: (g, ctx) => g.output(multiHeadAttention(ctx, 'q', 'k', 'v', 48, 4, false), 'y', 'float32'),
  },
  {
    name: 'attention fused MHA h4 d12', inputs: { q: [2, 54, 48], k: [2, 62, 48], v: [2, 62, 48] },
    build: (g, ctx) => g.output(multiHeadAttention(ctx, 'q', 'k', 'v', 48, 4, true), 'y', 'float32'),
  },
  {
    name: 'attention fused MHA h4 d12 L = N', inputs: { q: [2, 54, 48], k: [2, 54, 48], v: [2, 54, 48] },
    build: (g, ctx) => g.output(multiHeadAttention(ctx, 'q', 'k', 'v', 48, 4, true), 'y', 'float32'),
  },
  {
    name: 'attention fused MHA h2 d16', inputs: { q: [2, 54, 32], k: [2, 62, 32], v: [2, 62, 32] },
    build: (g, ctx) => g.output(multiHeadAttention(ctx, 'q', 'k', 'v', 32, 2, true), 'y', 'float32'),
  },
  {
    name: 'attention fused MHA h2 d64', inputs: { q: [2, 54, 128], k: [2, 62, 128], v: [2, 62, 128] },
    build: (g, ctx) => g.output(multiHeadAttention(ctx, 'q', 'k', 'v', 128, 2, true), 'y', 'float32'),
  },
];

async function runCase(c: Case, ep: 'webgpu' | 'wasm', feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const ctx = new ModelContext(c.name.replace(/\W+/g, '_'));
  for (const [name, dims] of Object.entries(c.inputs)) ctx.g.input(name, 'float32', dims);
  c.build(ctx.g, ctx);
  const m = await serializeToMemory(ctx.g);
  const s = await ort.InferenceSession.create(m.model, { executionProviders: [ep], externalData: m.externalData });
  const out = await s.run(feeds);
  const data = (await out.y.getData()) as Float32Array;
  await s.release();
  return data;
}

window.opAccuracy = async () => {
  const results: OpAccuracy[] = [];
  const gen = new TorchGenerator(7);
  for (const c of cases) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, dims] of Object.entries(c.inputs)) {
      const data = name === 'r' ? Float32Array.from([0.99358, 0.7, 0.31, 0.0071]) : gen.randn(dims);
      feeds[name] = new ort.Tensor('float32', data, dims);
    }
    const a = await runCase(c, 'wasm', feeds);
    const b = await runCase(c, 'webgpu', feeds);
    let diff = 0;
    let mag = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      mag = Math.max(mag, Math.abs(a[i]));
    }
    results.push({ name: c.name, rel: diff / mag });
  }
  return results;
};
window.opsReady = true;
