/**
 * Runs our graphs on onnxruntime-web's WebGPU EP with the engine's session options and reports, per graph, where
 * onnxruntime placed its nodes (from the session's INFO log lines "All nodes placed on [EP]. Number of nodes: N"
 * / "Node(s) placed on [EP]. Number of nodes: N", printed by session initialisation at logSeverityLevel ≤ 1) and
 * what one steady-state run asks of the GPU (gpu-counters.ts). Used by e2e/webgpu-placement.test.ts (no CPU node
 * allowed) and scripts/bench-gpu.ts (kernels, bytes, peak memory per step).
 *
 * Inputs that a generation keeps on the GPU between calls (latents, ε, kv) are fed as GPU buffers uploaded
 * before the measured run; the per-step scalars (r, coef) and token ids are fed from the CPU, as the pipeline
 * does. So the measured CPU→GPU bytes are what a step really moves.
 */
import { installGpuCounters, gpuCounters, diffCounters, resetPeakBytes } from './gpu-counters.ts';
import type { DimSizes, GpuGraphsApi, GraphReport, NetworkCase, PlacementLine } from './gpu-graphs-api.ts';
installGpuCounters();
import * as ort from 'onnxruntime-web/webgpu';
import type { Graph, ValueDef } from '../../src/onnx/graph.ts';
import { serializeToMemory, type InMemoryModel } from '../../src/onnx/serialize.ts';
import { compileInMemory } from '../../src/models/compile.ts';
import { randomWeightSource } from '../../src/models/demo-model.ts';
import { buildModel, splittable } from '../../src/models/registry.ts';
import {
  buildDdpmStepGraph, buildKDiffusionStepGraph, buildLongPromptStitchGraph, buildPairWithZerosGraph, buildToRgb8Graph,
} from '../../src/models/pipeline-graphs.ts';
import { buildLatentPreviewGraph } from '../../src/models/preview-graph.ts';
import { buildInsertAxis1Graph, buildSpatialConcatGraph, buildSpatialSliceGraph } from '../../src/models/tile-graphs.ts';
import { TorchGenerator } from '../../src/core/torch-generator.ts';

const api = globalThis as unknown as GpuGraphsApi;

/** Inputs the pipeline feeds from the CPU each call; everything else stays on the GPU between calls. */
const CPU_FED = new Set(['r', 'coef', 'crop', 'input_ids', 'attention_mask', 'sca', 'crp']);
const PLACEMENT = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/;

let logSink: string[] | undefined;
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    logSink?.push(args.map(String).join(' '));
    original(...args);
  };
}

const gen = new TorchGenerator(5);

function dimsOf(v: ValueDef, sizes: DimSizes, graph: string): number[] {
  return (v.dims ?? []).map((d) => {
    if (typeof d === 'number') return d;
    const n = sizes[d];
    if (n === undefined) throw new Error(`${graph}: no size given for dimension ${d} of input ${v.name}`);
    return n;
  });
}

/** The GPUDevice members used here (the project's TypeScript lib has no WebGPU types). */
interface DeviceLike {
  createBuffer(d: { size: number; usage: number }): ort.Tensor.GpuBufferType & { destroy(): void };
  queue: { writeBuffer(b: ort.Tensor.GpuBufferType, offset: number, data: Float32Array): void };
}
/** GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST */
const STORAGE_COPY = 0x80 | 0x04 | 0x08;

async function gpuTensor(data: Float32Array, dims: number[]): Promise<ort.Tensor> {
  const device = (await Promise.resolve(ort.env.webgpu.device)) as unknown as DeviceLike;
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = device.createBuffer({ size, usage: STORAGE_COPY });
  device.queue.writeBuffer(buffer, 0, data);
  return ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims, dispose: () => buffer.destroy() });
}

async function makeFeeds(inputs: readonly ValueDef[], sizes: DimSizes, graph: string, given: Record<string, ort.Tensor>) {
  const feeds: Record<string, ort.Tensor> = { ...given };
  let cpuFeedBytes = 0;
  for (const v of inputs) {
    if (feeds[v.name]) continue;
    const dims = dimsOf(v, sizes, graph);
    const n = dims.reduce((a, d) => a * d, 1);
    if (v.dtype === 'int64') {
      const data = v.name === 'crop' || v.name === 'ends' ? BigInt64Array.from([BigInt(sizes.H >> 1), BigInt(sizes.W >> 1)])
        : v.name === 'starts' ? new BigInt64Array(n)
        : v.name === 'attention_mask' ? new BigInt64Array(n).fill(1n)
        : BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7919) % (sizes.vocab ?? 256)));
      feeds[v.name] = new ort.Tensor('int64', data, dims);
      cpuFeedBytes += data.byteLength;
    } else if (CPU_FED.has(v.name)) {
      const data = v.name === 'r' ? new Float32Array(n).fill(0.5) : Float32Array.from({ length: n }, (_, i) => 0.1 * (i + 1));
      feeds[v.name] = new ort.Tensor('float32', data, dims);
      cpuFeedBytes += data.byteLength;
    } else {
      feeds[v.name] = await gpuTensor(gen.randn(dims), dims);
    }
  }
  return { feeds, cpuFeedBytes };
}

/** Creates a WebGPU session as the engine does (src/engine/ort-engine.ts), capturing its placement log lines. */
async function createSession(m: InMemoryModel, preferredLayout?: 'NCHW' | 'NHWC'): Promise<{ session: ort.InferenceSession; placement: PlacementLine[]; ms: number }> {
  const lines: string[] = [];
  logSink = lines;
  const t = performance.now();
  try {
    const session = await ort.InferenceSession.create(m.model, {
      executionProviders: [preferredLayout ? { name: 'webgpu', preferredLayout } : 'webgpu'],
      externalData: m.externalData,
      graphOptimizationLevel: 'all',
      preferredOutputLocation: 'gpu-buffer',
      logSeverityLevel: 0,
    });
    const placement: PlacementLine[] = [];
    for (let i = 0; i < lines.length; i++) {
      const hit = PLACEMENT.exec(lines[i]);
      if (hit) placement.push({ ep: hit[1], nodes: Number(hit[2]), detail: lines.slice(i + 1, i + 1 + Number(hit[2])).map((l) => l.replace(/^.*\] +/, '')) });
    }
    if (!placement.length) throw new Error(`no node placement line in the session log:\n${lines.join('\n')}`);
    return { session, placement, ms: performance.now() - t };
  } finally {
    logSink = undefined;
  }
}

async function profile(graphName: string, g: Graph, m: InMemoryModel, sizes: DimSizes, given: Record<string, ort.Tensor> = {}, layout?: 'NCHW' | 'NHWC') {
  resetPeakBytes();
  const { session, placement, ms: sessionMs } = await createSession(m, layout);
  const { feeds, cpuFeedBytes } = await makeFeeds(g.inputs, sizes, graphName, given);
  const first = await session.run(feeds);
  for (const t of Object.values(first)) t.dispose();
  const before = gpuCounters();
  const t = performance.now();
  const out = await session.run(feeds);
  const runMs = performance.now() - t;
  const run = diffCounters(before, gpuCounters());
  const report: GraphReport = {
    graph: graphName, modelNodes: g.nodes.length, placement,
    cpuNodes: placement.filter((p) => p.ep === 'CPUExecutionProvider').reduce((a, p) => a + p.nodes, 0),
    run, cpuFeedBytes, sessionMs, runMs,
  };
  return { report, session, out, feeds };
}

function release(feeds: Record<string, ort.Tensor>, keep: Record<string, ort.Tensor> = {}) {
  const kept = new Set(Object.values(keep));
  for (const t of Object.values(feeds)) if (t.location === 'gpu-buffer' && !kept.has(t)) t.dispose();
}

api.adapterFeatures = async () => {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ features: Iterable<string> } | null> } }).gpu;
  const adapter = await gpu?.requestAdapter();
  return adapter ? [...adapter.features] : [];
};

api.profileNetwork = async (c: NetworkCase) => {
  const reports: GraphReport[] = [];
  const build = { precision: c.precision, fusedAttention: c.fusedAttention };
  const seed = 1234;
  const weights = randomWeightSource(buildModel(c.model, { ...build, part: 'full' }).expected, seed);
  let kv: Record<string, ort.Tensor> = {};
  let condSession: ort.InferenceSession | undefined;
  if (splittable(c.model.kind)) {
    const cond = buildModel(c.model, { ...build, part: 'conditioning' });
    const m = await compileInMemory(cond, weights);
    const r = await profile(`${c.model.kind} conditioning`, cond.g, m, c.dims, {}, c.preferredLayout);
    reports.push(r.report);
    kv = r.out;
    release(r.feeds);
    // Released after the step session exists: releasing the last session drops the EP's device, and kv lives on it.
    condSession = r.session;
  }
  const main = buildModel(c.model, { ...build, part: splittable(c.model.kind) ? 'step' : 'full' });
  const m = await compileInMemory(main, weights);
  const r = await profile(`${c.model.kind} ${splittable(c.model.kind) ? 'step' : 'forward'}`, main.g, m, c.dims, kv, c.preferredLayout);
  reports.push(r.report);
  for (const t of Object.values(r.out)) t.dispose();
  release(r.feeds);
  await r.session.release();
  await condSession?.release();
  return reports;
};

/** The weightless graphs a generation runs on the device besides the networks. */
const WEIGHTLESS: [string, () => Graph, DimSizes?][] = [
  ['sampler ddpm', () => buildDdpmStepGraph(false)],
  ['sampler ddpm guided', () => buildDdpmStepGraph(true)],
  ['sampler kdiffusion', () => buildKDiffusionStepGraph(false)],
  ['sampler kdiffusion guided', () => buildKDiffusionStepGraph(true)],
  ['pair with zeros', () => buildPairWithZerosGraph()],
  ['long prompt stitch ×3', () => buildLongPromptStitchGraph(3), { H: 32 }],
  ['latent preview', () => buildLatentPreviewGraph()],
  ['to rgb8', () => buildToRgb8Graph()],
  ['tile slice', () => buildSpatialSliceGraph()],
  ['tile concat ×2', () => buildSpatialConcatGraph(2, 3)],
  ['insert axis 1', () => buildInsertAxis1Graph()],
];

api.profileWeightless = async (dims: DimSizes) => {
  const reports: GraphReport[] = [];
  for (const [name, build, own] of WEIGHTLESS) {
    const g = build();
    const r = await profile(name, g, await serializeToMemory(g), { ...dims, ...own });
    reports.push(r.report);
    for (const t of Object.values(r.out)) t.dispose();
    release(r.feeds);
    await r.session.release();
  }
  return reports;
};

api.gpuGraphsReady = true;
