/**
 * `tsx scripts/bench-cpu-gemm.ts [--backend node|wasm] [--threads 1,2] [--calls 20]`: the float32 matrix-product
 * rate onnxruntime-node (MLAS) — or onnxruntime-web's WASM build in Node, one thread — reaches on this CPU, for the product the PyTorch peer README quotes (1152×512 by 512×2048, a Stage C
 * medium ChannelLinear) and Stage C medium's wider ones. GFLOP/s from wall time and, the figure to trust on a
 * shared machine at one thread, from the process's CPU time. The ceiling for the bench cases: a call needs at least
 * (its matrix-product + convolution GFLOP) ÷ (this rate) seconds, whatever the graph around the products.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { Graph } from '../src/onnx/graph.ts';
import { serializeToMemory } from '../src/onnx/serialize.ts';
import { TorchGenerator } from '../src/core/torch-generator.ts';
import type { OrtNode } from './bench-gpu-roofline.ts';
import { loadOrtModule } from '../src/engine/node-engine.ts';

const SHAPES: [number, number, number][] = [[1152, 512, 2048], [1152, 2048, 512], [1152, 512, 512], [4096, 512, 512]];

function matmulModel(m: number, k: number, n: number) {
  const g = new Graph('gemm');
  const a = g.input('a', 'float32', [m, k]);
  const gen = new TorchGenerator(5);
  const w = g.weight('w', 'float32', [k, n], async () => new Uint8Array(gen.randn([k, n]).buffer));
  g.output(g.node('MatMul', [a, w]), 'y', 'float32', [m, n]);
  return serializeToMemory(g);
}

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const threadList = opt('--threads', '1,2').split(',').map(Number);
const calls = Number(opt('--calls', '20'));
const backend = opt('--backend', 'node') === 'wasm' ? 'wasm' : 'node';
const ort = (await loadOrtModule(backend)) as unknown as OrtNode;
if (backend === 'wasm' && threadList.some((t) => t !== 1)) throw new Error('onnxruntime-web in Node runs one WASM thread: use --threads 1');
console.log(`${backend === 'node' ? 'onnxruntime-node' : 'onnxruntime-web WASM (Node)'}\n`);
console.log('| product (M×K by K×N) | threads | GFLOP/s (median wall) | GFLOP/s (median CPU time) |');
console.log('|---|---:|---:|---:|');
for (const [m, k, n] of SHAPES) {
  const model = await matmulModel(m, k, n);
  const feeds: Record<string, Tensor> = { a: new ort.Tensor('float32', new TorchGenerator(6).randn([m, k]), [m, k]) };
  for (const threads of threadList) {
    const session = await ort.InferenceSession.create(model.model, {
      executionProviders: [backend === 'node' ? 'cpu' : 'wasm'], externalData: model.externalData as InferenceSession.SessionOptions['externalData'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    });
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < calls; i++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await session.run(feeds);
      wall.push(performance.now() - t);
      const u = process.cpuUsage(c);
      cpu.push((u.user + u.system) / 1000);
    }
    await session.release();
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const gflop = (2 * m * k * n) / 1e9;
    console.log(`| ${m}×${k} by ${k}×${n} | ${threads} | ${(gflop / (med(wall) / 1000)).toFixed(0)} | ${(gflop / (med(cpu) / 1000)).toFixed(0)}${threads > 1 ? ' (all threads)' : ''} |`);
  }
}
