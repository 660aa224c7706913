/**
 * `npm run bench:cpu-profile [-- --only stage_c_medium] [--threads 2] [--runs 5] [--json <file>] [--dump-optimized <file.onnx>]`:
 * where onnxruntime-node's time goes in one forward of a bench case (the same full graph, random weights and
 * inputs as `npm run bench`), from onnxruntime's own profiler.
 *
 * Per op type after onnxruntime's graph optimizations (so fused ops such as FusedConv, FusedMatMul, Gelu,
 * LayerNormalization show under their fused names): nodes, ms per call (sum of the node kernel times, averaged
 * over the profiled runs), share of the summed kernel time, GFLOP per call and GFLOP/s for the compute ops, and the
 * bytes the nodes read and write (activations + weights: the memory traffic of kernel-per-node execution). The
 * kernel times of a multi-threaded run are wall times per node on the calling thread, so they add up to roughly the
 * call time; "outside kernels" is the rest (scheduling, allocations, the session's own copies).
 *
 * Profiled runs are slower than plain ones (the profiler records every node); read the shares, not the totals.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { benchCases, inputSizes } from '../src/cli/commands/bench.ts';
import { compileInMemory } from '../src/models/compile.ts';
import { randomWeightSource } from '../src/models/demo-model.ts';
import { buildModel } from '../src/models/registry.ts';
import { TorchGenerator } from '../src/core/torch-generator.ts';
import { nodeFlops, type OrtNode } from './bench-gpu-roofline.ts';

const USAGE = 'npm run bench:cpu-profile [-- --only <case>] [--threads N] [--runs N] [--size <input index>] [--json <file>] [--dump-optimized <file.onnx>]';

type TypeShape = Record<string, number[]>;
interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; provider?: string; input_type_shape?: TypeShape[]; output_type_shape?: TypeShape[] };
}

export interface OpTypeRow {
  op: string;
  nodes: number;
  msPerCall: number;
  share: number;
  gflopPerCall: number;
  mbPerCall: number;
}

export interface CpuProfile {
  case: string;
  input: string;
  threads: number;
  runs: number;
  /** Median wall time of a profiled `session.run`, ms. */
  runMs: number;
  /** Sum of node kernel times per call, ms. */
  kernelMs: number;
  nodes: number;
  byOp: OpTypeRow[];
}

const TYPE_BYTES: Record<string, number> = { float: 4, float16: 2, int64: 8, int32: 4, uint8: 1, int8: 1, bool: 1, double: 8 };
const numel = (d: number[]) => d.reduce((a, x) => a * x, 1);
const bytesOf = (ts: TypeShape[] = []) => ts.reduce((a, t) => a + Object.entries(t).reduce((b, [k, d]) => b + numel(d) * (TYPE_BYTES[k] ?? 4), 0), 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Sums the node events of a profile per op type; `runs` = how many profiled calls the events cover. */
export function summarizeProfile(events: ProfileEvent[], runs: number): { kernelMs: number; nodes: number; byOp: OpTypeRow[]; runMs: number[] } {
  const by = new Map<string, { nodes: Set<string>; us: number; flops: number; bytes: number }>();
  const runMs: number[] = [];
  let totalUs = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') runMs.push(e.dur / 1000);
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const op = e.args.op_name;
    const row = by.get(op) ?? { nodes: new Set<string>(), us: 0, flops: 0, bytes: 0 };
    row.nodes.add(e.name);
    row.us += e.dur;
    row.flops += nodeFlops(op, e.args.input_type_shape ?? [], e.args.output_type_shape ?? []);
    row.bytes += bytesOf(e.args.input_type_shape) + bytesOf(e.args.output_type_shape);
    by.set(op, row);
    totalUs += e.dur;
  }
  const byOp = [...by.entries()].map(([op, r]) => ({
    op,
    nodes: r.nodes.size,
    msPerCall: r.us / 1000 / runs,
    share: r.us / Math.max(1, totalUs),
    gflopPerCall: r.flops / 1e9 / runs,
    mbPerCall: r.bytes / 1e6 / runs,
  })).sort((a, b) => b.msPerCall - a.msPerCall);
  return { kernelMs: totalUs / 1000 / runs, nodes: byOp.reduce((a, r) => a + r.nodes, 0), byOp, runMs };
}

/** Profiles `runs` calls (after `warmups` unprofiled ones is not possible per session, so the first call is dropped). */
export async function profileCase(name: string, opts: { threads: number; runs: number; size: number; dumpOptimized?: string }): Promise<CpuProfile> {
  const c = benchCases().cases.find((x) => x.name === name);
  if (!c) throw new Error(`unknown bench case ${name}; cases: ${benchCases().cases.map((x) => x.name).join(', ')}`);
  const ctx = buildModel(c.model, { conditionInputs: c.model.kind === 'stage_c' });
  const compiled = await compileInMemory(ctx, randomWeightSource(ctx.expected, 1234));
  const ort = (await import('onnxruntime-node')) as unknown as OrtNode;
  const size = inputSizes(c.model)[opts.size];
  if (!size) throw new Error(`${name} has ${inputSizes(c.model).length} input sizes; --size ${opts.size} is out of range`);
  const gen = new TorchGenerator(99);
  const dir = await mkdtemp(join(tmpdir(), 'sote-cpu-profile-'));
  try {
    const session = await ort.InferenceSession.create(compiled.model, {
      executionProviders: ['cpu'],
      externalData: compiled.externalData as InferenceSession.SessionOptions['externalData'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
      ...(opts.dumpOptimized ? { optimizedModelFilePath: opts.dumpOptimized } : {}),
    });
    const feeds: Record<string, Tensor> = {};
    for (const input of session.inputNames) {
      const dims = size.shapes[input];
      if (!dims) throw new Error(`${name}: no bench shape for input ${input}`);
      const data = input === 'r' ? new Float32Array(dims[0]).fill(0.5) : input === 'sca' || input === 'crp' ? new Float32Array(dims[0]) : gen.randn(dims);
      feeds[input] = new ort.Tensor('float32', data, dims);
    }
    // One warm-up (arena growth, first-touch of weights) + the profiled runs; the warm-up's events are dropped below.
    for (let i = 0; i < 1 + opts.runs; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime-node wrote no profile');
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
    // Drop the warm-up call: every event before the end of the first model_run.
    const firstRun = events.find((e) => e.cat === 'Session' && e.name === 'model_run') as (ProfileEvent & { ts: number }) | undefined;
    const cut = firstRun ? firstRun.ts + firstRun.dur : 0;
    const timed = events.filter((e) => (e as ProfileEvent & { ts: number }).ts > cut);
    const s = summarizeProfile(timed, opts.runs);
    return { case: name, input: size.label, threads: opts.threads, runs: opts.runs, runMs: median(s.runMs), kernelMs: s.kernelMs, nodes: s.nodes, byOp: s.byOp };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatProfile(p: CpuProfile): string {
  const lines = [
    `### ${p.case}, ${p.input}, onnxruntime-node, ${p.threads} thread${p.threads === 1 ? '' : 's'} (${p.runs} profiled calls; median profiled call ${p.runMs.toFixed(0)} ms, node kernels ${p.kernelMs.toFixed(0)} ms, ${p.nodes} nodes)`,
    '',
    '| op (after onnxruntime fusions) | nodes | ms per call | share of kernel time | GFLOP per call | GFLOP/s | MB read+written |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of p.byOp) {
    const compute = r.gflopPerCall > 0.05 && /MatMul|Gemm|Conv|Attention/.test(r.op);
    lines.push(`| ${r.op} | ${r.nodes} | ${r.msPerCall.toFixed(1)} | ${(100 * r.share).toFixed(1)} % | ${compute ? r.gflopPerCall.toFixed(2) : '—'} | ${compute ? (r.gflopPerCall / (r.msPerCall / 1000)).toFixed(0) : '—'} | ${r.mbPerCall.toFixed(0)} |`);
  }
  lines.push('', `Outside node kernels: ${Math.max(0, p.runMs - p.kernelMs).toFixed(0)} ms per call (${(100 * Math.max(0, p.runMs - p.kernelMs) / p.runMs).toFixed(0)} %).`);
  return lines.join('\n');
}

function parseArgs(argv: string[]) {
  const out = { only: ['stage_c_medium', 'stage_b_medium'], threads: 2, runs: 5, size: 0, json: undefined as string | undefined, dumpOptimized: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\nusage: ${USAGE}`);
      return v;
    };
    const int = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${a} needs a whole number, got ${v}\nusage: ${USAGE}`);
      return n;
    };
    if (a === '--only') out.only = value().split(',');
    else if (a === '--threads') out.threads = Math.max(1, int(value()));
    else if (a === '--runs') out.runs = Math.max(1, int(value()));
    else if (a === '--size') out.size = int(value());
    else if (a === '--json') out.json = value();
    else if (a === '--dump-optimized') out.dumpOptimized = value();
    else throw new Error(`unknown option ${a}\nusage: ${USAGE}`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const profiles: CpuProfile[] = [];
  for (const name of args.only) {
    const p = await profileCase(name, { threads: args.threads, runs: args.runs, size: args.size, dumpOptimized: args.dumpOptimized });
    profiles.push(p);
    console.log(formatProfile(p) + '\n');
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), profiles }, null, 2));
}
