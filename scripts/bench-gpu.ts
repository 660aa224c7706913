/**
 * `npm run bench:gpu [-- --json <file>] [--only <network>] [--sizes tiny,medium,released]`: each network's graphs
 * on onnxruntime-web's WebGPU EP in Chromium (the SwiftShader software adapter here), random weights, at the
 * bench inputs (../shared/bench README: Stage C x 2×16×24×24, Stage B x 2×4×128×128, Stage A latents 1×4×64×64,
 * CLIP 2×77 tokens), per precision the adapter supports. Per graph: kernels dispatched per step, nodes onnxruntime
 * placed on the CPU, CPU↔GPU bytes per step, peak GPU buffer bytes, kernels per op type (e2e/pages/gpu-graphs.ts
 * measures them by wrapping the WebGPU API), and a roofline estimate for reference GPUs from the graph's FLOPs and
 * bytes (scripts/bench-gpu-roofline.ts), plus the extrapolated time of a fal-default image.
 *
 * Sizes: tiny = the demo model's configs; medium = ../shared/bench's stage_c_medium / stage_b_medium; released =
 * stage_a_full (the released Stage A). The released Stage C (3.6 G parameters) and Stage B (1.5 G) do not fit a
 * software adapter (1 GiB per buffer, CPU-emulated): they are listed as skipped.
 * Timings on a software adapter say nothing about a GPU; only counts are meaningful here.
 */
import { writeFileSync } from 'node:fs';
import type { Tensor } from 'onnxruntime-common';
import { launchBrowser } from '../e2e/support/browser.ts';
import { startViteServer } from '../e2e/support/server.ts';
import type { GpuGraphsApi, DimSizes, GraphReport, NetworkCase } from '../e2e/pages/gpu-graphs-api.ts';
import { benchCases } from '../src/cli/commands/bench.ts';
import { compileInMemory } from '../src/models/compile.ts';
import { DEMO_COMPONENTS, randomWeightSource } from '../src/models/demo-model.ts';
import type { Precision } from '../src/models/model-context.ts';
import { buildModel, splittable, type AnyModelConfig } from '../src/models/registry.ts';
import type { ValueDef } from '../src/onnx/graph.ts';
import { TorchGenerator } from '../src/core/torch-generator.ts';
import { formatBytes } from '../src/core/format-bytes.ts';
import { EFFICIENCY, FAL_DEFAULT_IMAGE_TFLOP, graphCost, REFERENCE_GPUS, rooflineMs, type GraphCost, type OrtNode } from './bench-gpu-roofline.ts';

const USAGE = 'npm run bench:gpu [-- --json <file>] [--only clip_text|stage_c|stage_b|stage_a|samplers] [--sizes tiny,medium,released] [--precisions fp32,int8,int4]';
type Size = 'tiny' | 'medium' | 'released';

interface Case {
  network: AnyModelConfig['kind'];
  size: Size;
  label: string;
  model: AnyModelConfig;
  dims: DimSizes;
}

/** The bench README's inputs as symbolic dimension sizes of our graphs. */
function dimsFor(model: AnyModelConfig): DimSizes {
  switch (model.kind) {
    case 'stage_c': return { B: 2, h: 24, w: 24, S: 77 };
    case 'stage_b': return { B: 2, h: 128, w: 128, he: 12, we: 12 };
    case 'stage_a': return { B: 1, H: 64, W: 64 };
    case 'clip_text': return { B: 2, L: 77, vocab: model.config.vocab_size };
  }
}

function cases(sizes: Set<Size>): { list: Case[]; skipped: string[] } {
  const list: Case[] = [];
  const skipped: string[] = [];
  if (sizes.has('tiny')) for (const m of DEMO_COMPONENTS) list.push({ network: m.kind, size: 'tiny', label: `tiny-demo/${m.kind}`, model: m, dims: dimsFor(m) });
  const { cases: bench, missing } = benchCases();
  if (missing) skipped.push(`medium/released: bench configs not found at ${missing} (set SOTE_BENCH_DIR)`);
  for (const c of bench.filter((b) => !b.name.startsWith('tiny-demo/'))) {
    const size: Size = c.name.endsWith('_full') ? 'released' : 'medium';
    if (sizes.has(size)) list.push({ network: c.model.kind, size, label: c.name, model: c.model, dims: dimsFor(c.model) });
  }
  if (sizes.has('released')) {
    skipped.push('released stage_c (3.6 G parameters) and stage_b (1.5 G): weights exceed what the software adapter holds (1 GiB buffers, CPU-emulated GPU memory)');
  }
  return { list, skipped };
}

const gen = new TorchGenerator(11);

/** CPU feeds with the page's conventions (gpu-graphs.ts makeFeeds), for the onnxruntime-node cost run. */
function nodeFeeds(ort: OrtNode, inputs: readonly ValueDef[], dims: DimSizes, given: Record<string, Tensor>): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = { ...given };
  for (const v of inputs) {
    if (feeds[v.name]) continue;
    const shape = (v.dims ?? []).map((d) => (typeof d === 'number' ? d : dims[d]));
    const n = shape.reduce((a, d) => a * d, 1);
    if (v.dtype === 'int64') {
      const data = v.name === 'attention_mask' ? new BigInt64Array(n).fill(1n) : BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7919) % (dims.vocab ?? 256)));
      feeds[v.name] = new ort.Tensor('int64', data, shape);
    } else {
      feeds[v.name] = new ort.Tensor('float32', v.name === 'r' ? new Float32Array(n).fill(0.5) : gen.randn(shape), shape);
    }
  }
  return feeds;
}

/** FLOPs and bytes of the per-step graph (conditioning graph first, its kv feeding the step) at one precision. */
async function stepCost(c: Case, precision: Precision): Promise<{ step: GraphCost; conditioning?: GraphCost }> {
  const ort = (await import('onnxruntime-node')) as unknown as OrtNode;
  const weights = randomWeightSource(buildModel(c.model, { precision, part: 'full' }).expected, 1234);
  let kv: Record<string, Tensor> = {};
  let conditioning: GraphCost | undefined;
  if (splittable(c.model.kind)) {
    const cond = buildModel(c.model, { precision, part: 'conditioning' });
    const m = await compileInMemory(cond, weights);
    const feeds = nodeFeeds(ort, cond.g.inputs, c.dims, {});
    conditioning = await graphCost(ort, m, feeds);
    const s = await ort.InferenceSession.create(m.model, { externalData: m.externalData as never });
    kv = (await s.run(feeds)) as Record<string, Tensor>;
    await s.release();
  }
  const main = buildModel(c.model, { precision, part: splittable(c.model.kind) ? 'step' : 'full' });
  const m = await compileInMemory(main, weights);
  return { step: await graphCost(ort, m, nodeFeeds(ort, main.g.inputs, c.dims, kv)), conditioning };
}

interface Row {
  network: string;
  precision: Precision;
  size: Size;
  kernels_per_step: number;
  cpu_nodes: number;
  cpu_gpu_bytes_per_step: number;
  peak_gpu_bytes: number;
  kernels_by_op: Record<string, number>;
  flops_per_step_estimate?: number;
  bytes_per_step_estimate?: number;
  roofline_ms_estimate?: Record<string, { shader: number; tensor: number }>;
}

function parseArgs(argv: string[]): { json?: string; only?: string; sizes: Set<Size>; precisions?: Set<string> } {
  const out: { json?: string; only?: string; sizes: Set<Size>; precisions?: Set<string> } = { sizes: new Set(['tiny', 'medium', 'released']) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\nusage: ${USAGE}`);
      return v;
    };
    if (a === '--json') out.json = value();
    else if (a === '--only') out.only = value();
    else if (a === '--sizes') out.sizes = new Set(value().split(',') as Size[]);
    else if (a === '--precisions') out.precisions = new Set(value().split(','));
    else throw new Error(`unknown option ${a}\nusage: ${USAGE}`);
  }
  return out;
}

function rowOf(r: GraphReport, network: string, precision: Precision, size: Size, cost?: GraphCost): Row {
  const row: Row = {
    network, precision, size,
    kernels_per_step: r.run.dispatches,
    cpu_nodes: r.cpuNodes,
    cpu_gpu_bytes_per_step: r.run.uploadBytes + r.run.readbackBytes,
    peak_gpu_bytes: r.run.peakBytes,
    kernels_by_op: r.run.dispatchesByPipeline,
  };
  if (cost) {
    row.flops_per_step_estimate = cost.flops;
    row.bytes_per_step_estimate = cost.bytes;
    row.roofline_ms_estimate = Object.fromEntries(REFERENCE_GPUS.map((g) => {
      const t = rooflineMs(cost, g);
      return [g.name, { shader: t.shaderMs, tensor: t.tensorMs }];
    }));
  }
  return row;
}

const fmt = (n: number, d = 2) => (n >= 100 ? n.toFixed(0) : n.toFixed(d));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { list, skipped } = cases(args.sizes);
  const selected = list.filter((c) => !args.only || c.network === args.only);
  const vite = await startViteServer();
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    await browser.page.goto(`${vite.origin}/e2e/pages/gpu-graphs.html`);
    await browser.page.waitForFunction(() => (globalThis as unknown as GpuGraphsApi).gpuGraphsReady === true, undefined, { timeout: 120_000 });
    const features = await browser.page.evaluate(() => (globalThis as unknown as GpuGraphsApi).adapterFeatures!());
    const supported: Precision[] = features.includes('shader-f16') ? ['fp32', 'fp16', 'int8', 'int4'] : ['fp32', 'int8', 'int4'];
    const precisions = supported.filter((p) => !args.precisions || args.precisions.has(p));
    console.log(`adapter features: shader-f16 ${features.includes('shader-f16') ? 'yes' : 'no'}, subgroups ${features.includes('subgroups') ? 'yes' : 'no'}; precisions ${precisions.join(', ')}`);
    for (const c of selected) {
      for (const precision of precisions) {
        process.stderr.write(`bench:gpu ${c.label} ${precision}…`);
        const started = performance.now();
        const cost = await stepCost(c, precision);
        const nc: NetworkCase = { model: c.model, precision, dims: c.dims };
        const reports = await browser.page.evaluate((x) => (globalThis as unknown as GpuGraphsApi).profileNetwork!(x), nc);
        for (const r of reports) {
          const isCond = r.graph.endsWith('conditioning');
          rows.push(rowOf(r, isCond ? `${c.network}/conditioning` : c.network, precision, c.size, isCond ? cost.conditioning : cost.step));
        }
        process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      }
    }
    if (!args.only || args.only === 'samplers') {
      const reports = await browser.page.evaluate((d) => (globalThis as unknown as GpuGraphsApi).profileWeightless!(d), { B: 1, B2: 2, C: 16, H: 24, W: 24, W0: 12, W1: 12, RC: 6, P: 1280, D: 8 });
      for (const r of reports) rows.push(rowOf(r, r.graph, 'fp32', 'medium'));
    }
  } finally {
    await browser.close();
    await vite.stop();
  }
  printTables(rows, skipped);
  if (args.json) {
    writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), adapter: 'SwiftShader (software)', graphs: rows }, null, 2));
    console.log(`\nwrote ${args.json}`);
  }
}

function printTables(rows: Row[], skipped: string[]): void {
  console.log('\n## WebGPU per step (software adapter: counts are exact, no timings are shown)\n');
  console.log('| network | size | precision | kernels/step | CPU nodes | CPU↔GPU bytes/step | peak GPU buffers | top kernels by op |');
  console.log('|---|---|---|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const top = Object.entries(r.kernels_by_op).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([op, n]) => `${op || '?'} ${((100 * n) / Math.max(1, r.kernels_per_step)).toFixed(0)}%`).join(', ');
    console.log(`| ${r.network} | ${r.size} | ${r.precision} | ${r.kernels_per_step} | ${r.cpu_nodes} | ${r.cpu_gpu_bytes_per_step} | ${formatBytes(r.peak_gpu_bytes)} | ${top} |`);
  }
  console.log(`\n## Roofline ESTIMATE per step (FLOPs and bytes from onnxruntime-node's profile of the same graph; ${EFFICIENCY * 100}% of peak)\n`);
  console.log(`| network | size | precision | GFLOP/step | MB moved/step | ${REFERENCE_GPUS.map((g) => `${g.name} ms (shader / tensor)`).join(' | ')} |`);
  console.log(`|---|---|---|---:|---:|${REFERENCE_GPUS.map(() => '---:').join('|')}|`);
  for (const r of rows.filter((x) => x.flops_per_step_estimate !== undefined)) {
    const cells = REFERENCE_GPUS.map((g) => `${fmt(r.roofline_ms_estimate![g.name].shader)} / ${fmt(r.roofline_ms_estimate![g.name].tensor)}`);
    console.log(`| ${r.network} | ${r.size} | ${r.precision} | ${fmt(r.flops_per_step_estimate! / 1e9)} | ${fmt(r.bytes_per_step_estimate! / 1e6)} | ${cells.join(' | ')} |`);
  }
  console.log(`\n## A fal-default image (1024×1536, C 25 steps CFG, B 10 steps CFG 2): ≈ ${FAL_DEFAULT_IMAGE_TFLOP.toFixed(0)} TFLOP (spec §9.2) — ESTIMATE\n`);
  console.log('| GPU | at half the shader rate | at half the tensor rate |');
  console.log('|---|---:|---:|');
  for (const g of REFERENCE_GPUS) {
    const s = (tflops: number) => `${(FAL_DEFAULT_IMAGE_TFLOP / (tflops * EFFICIENCY)).toFixed(1)} s`;
    console.log(`| ${g.name} | ${s(g.shaderTflops)} | ${g.tensorTflops === g.shaderTflops ? '— (no matrix units)' : s(g.tensorTflops)} |`);
  }
  for (const s of skipped) console.log(`\nSKIPPED: ${s}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
