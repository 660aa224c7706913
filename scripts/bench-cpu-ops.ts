/**
 * `tsx scripts/bench-cpu-ops.ts [--threads 1] [--calls 30]`: onnxruntime-node alternatives for one subgraph the
 * bench profile (`npm run bench:cpu-profile`) shows as slow, timed alone at the shapes it runs at in the bench
 * cases. Today: GlobalResponseNorm's Gx = ‖x‖₂ over H,W of a channels-last [B,H,W,C] activation (cascade-blocks.ts
 * uses ReduceL2 with axes [1,2]). Reports median wall and process-CPU ms per call; on a shared machine read the CPU
 * column at one thread. Every variant's output is checked against the first one.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { Graph } from '../src/onnx/graph.ts';
import { serializeToMemory } from '../src/onnx/serialize.ts';
import { TorchGenerator } from '../src/core/torch-generator.ts';
import type { OrtNode } from './bench-gpu-roofline.ts';

interface Variant {
  name: string;
  build(g: Graph, x: string, dims: number[]): string;
}

const VARIANTS: Variant[] = [
  { name: 'ReduceL2 axes [1,2] (today)', build: (g, x) => g.node('ReduceL2', [x, g.i64([1, 2])], { keepdims: 1 }) },
  { name: 'Sqrt(ReduceSumSquare axes [1,2])', build: (g, x) => g.node('Sqrt', [g.node('ReduceSumSquare', [x, g.i64([1, 2])], { keepdims: 1 })]) },
  { name: 'Sqrt(ReduceSum(x·x) axes [1,2])', build: (g, x) => g.node('Sqrt', [g.node('ReduceSum', [g.node('Mul', [x, x]), g.i64([1, 2])], { keepdims: 1 })]) },
  {
    name: 'Reshape [B,HW,C] → Sqrt(ReduceSum(x·x) axis 1)',
    build: (g, x, d) => g.node('Reshape', [g.node('Sqrt', [g.node('ReduceSum', [g.node('Mul', [g.node('Reshape', [x, g.i64([d[0], d[1] * d[2], d[3]])]), g.node('Reshape', [x, g.i64([d[0], d[1] * d[2], d[3]])])]), g.i64([1])], { keepdims: 1 })]), g.i64([d[0], 1, 1, d[3]])]),
  },
  {
    name: 'Sqrt(MatMul(ones[1,HW], (x·x) as [B,HW,C]))',
    build: (g, x, d) => {
      const sq = g.node('Reshape', [g.node('Mul', [x, x]), g.i64([d[0], d[1] * d[2], d[3]])]);
      const ones = g.constant('float32', [1, d[1] * d[2]], new Float32Array(d[1] * d[2]).fill(1));
      return g.node('Reshape', [g.node('Sqrt', [g.node('MatMul', [ones, sq])]), g.i64([d[0], 1, 1, d[3]])]);
    },
  },
];

/** [B,H,W,C'] of GRN inputs in the bench cases (C' = 4·c_hidden of the level). */
const SHAPES = [[2, 64, 64, 256], [2, 32, 32, 512], [2, 16, 16, 1024], [2, 24, 24, 2048]];

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const threads = Number(opt('--threads', '1'));
const calls = Number(opt('--calls', '30'));
const ort = (await import('onnxruntime-node')) as unknown as OrtNode;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`onnxruntime-node, ${threads} thread(s), ${calls} calls per variant after 3 warm-ups\n`);
console.log('| [B,H,W,C] | variant | median ms | median CPU ms | MB/s of input (CPU time) | max abs diff to the first |');
console.log('|---|---|---:|---:|---:|---:|');
for (const dims of SHAPES) {
  const x = new ort.Tensor('float32', new TorchGenerator(3).randn(dims), dims);
  let reference: Float32Array | undefined;
  for (const v of VARIANTS) {
    const g = new Graph('op');
    const input = g.input('x', 'float32', dims);
    g.output(v.build(g, input, dims), 'y', 'float32');
    const model = await serializeToMemory(g);
    const session = await ort.InferenceSession.create(model.model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' } as InferenceSession.SessionOptions);
    let out: Float32Array | undefined;
    for (let i = 0; i < 3; i++) out = (await session.run({ x }) as Record<string, Tensor>).y.data as Float32Array;
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < calls; i++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await session.run({ x });
      wall.push(performance.now() - t);
      const u = process.cpuUsage(c);
      cpu.push((u.user + u.system) / 1000);
    }
    await session.release();
    reference ??= out;
    const diff = out && reference ? Math.max(...Array.from(out, (y, i) => Math.abs(y - reference![i]))) : NaN;
    const mb = (dims.reduce((a, d) => a * d, 1) * 4) / 1e6;
    console.log(`| ${dims.join('×')} | ${v.name} | ${med(wall).toFixed(2)} | ${med(cpu).toFixed(2)} | ${(mb / (med(cpu) / 1000)).toFixed(0)} | ${diff.toExponential(1)} |`);
  }
}
