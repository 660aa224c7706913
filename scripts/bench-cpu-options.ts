/**
 * `tsx scripts/bench-cpu-options.ts [--only stage_c_medium,stage_b_medium] [--threads 2] [--rounds 5] [--calls 2]`:
 * onnxruntime-node session options tried on the bench cases, side by side in one process. Every variant gets
 * its own session on the same model bytes and feeds; after one warm-up call each, the variants take turns
 * (rotating which goes first) for `rounds` rounds of `calls` calls, so machine load hits all of them alike.
 * Prints per variant the median call (wall and process CPU time), and the median over rounds of (variant ÷ the
 * bench's options) — the paired ratio is the figure to read on a shared machine; at one thread the CPU time is too.
 *
 * `--models fp32,int8,int8-acc4,int4-acc4` adds graph variants with the bench's options: the int8/int4 builds
 * (MatMulNBits weights) as the package converter makes them, and the same with the MatMulNBits attribute
 * accuracy_level = 4 set on every such node here (int8 activations: MLAS's integer kernels, VNNI on AVX-512) —
 * an experiment of this script only; the graph builders do not set it. `fp32-mha` is the fp32 build with the
 * builders' fusedAttention option (com.microsoft MultiHeadAttention instead of MatMul/Softmax/MatMul); `fp32-grn`
 * rewrites every ReduceL2 (GlobalResponseNorm's ‖x‖₂ over H,W) as Sqrt(ReduceSum(x·x)) here, the change
 * scripts/bench-cpu-ops.ts times alone.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { benchCases, inputSizes } from '../src/cli/commands/bench.ts';
import { compileInMemory } from '../src/models/compile.ts';
import { randomWeightSource } from '../src/models/demo-model.ts';
import type { Graph } from '../src/onnx/graph.ts';
import type { Precision } from '../src/models/model-context.ts';
import { buildModel } from '../src/models/registry.ts';
import { TorchGenerator } from '../src/core/torch-generator.ts';
import type { OrtNode } from './bench-gpu-roofline.ts';

type Options = InferenceSession.SessionOptions & { extra?: Record<string, Record<string, string>> };

/** The options `npm run bench` uses (src/cli/commands/bench.ts), as the reference. */
const base = (threads: number): Options => ({ executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 });

function variants(threads: number, dims: Record<string, number>): { name: string; options: Options }[] {
  const b = base(threads);
  return [
    { name: 'bench (all, arena, sequential)', options: b },
    { name: "graphOptimizationLevel 'extended' (no NCHWc layout)", options: { ...b, graphOptimizationLevel: 'extended' } },
    { name: "graphOptimizationLevel 'basic'", options: { ...b, graphOptimizationLevel: 'basic' } },
    { name: 'enableCpuMemArena false', options: { ...b, enableCpuMemArena: false } },
    { name: 'enableMemPattern false', options: { ...b, enableMemPattern: false } },
    { name: "executionMode 'parallel', interOp 2", options: { ...b, executionMode: 'parallel', interOpNumThreads: 2 } },
    { name: 'intra-op spinning off', options: { ...b, extra: { session: { 'intra_op.allow_spinning': '0' } } } },
    { name: 'freeDimensionOverrides (static shapes)', options: { ...b, freeDimensionOverrides: dims } },
  ];
}

/** ReduceL2(x, axes) → Sqrt(ReduceSum(Mul(x, x), axes)), same keepdims, in place (node order stays topological). */
function reduceL2AsSumOfSquares(g: Graph): number {
  let n = 0;
  for (let i = 0; i < g.nodes.length; i++) {
    const node = g.nodes[i];
    if (node.opType !== 'ReduceL2') continue;
    const [x, axes] = node.inputs;
    const sq = `${node.name}_sq`;
    const sum = `${node.name}_sum`;
    g.nodes.splice(i, 1,
      { opType: 'Mul', domain: '', name: `${node.name}_mul`, inputs: [x, x], outputs: [sq], attrs: {} },
      { opType: 'ReduceSum', domain: '', name: `${node.name}_reducesum`, inputs: [sq, axes], outputs: [sum], attrs: { ...node.attrs } },
      { opType: 'Sqrt', domain: '', name: `${node.name}_sqrt`, inputs: [sum], outputs: node.outputs, attrs: {} });
    i += 2;
    n++;
  }
  return n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, c) => a - c);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function parseArgs(argv: string[]) {
  const out = { only: ['stage_c_medium', 'stage_b_medium'], threads: 2, rounds: 5, calls: 2, models: [] as string[], sessionVariants: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--only') out.only = v.split(',');
    else if (a === '--threads') out.threads = Number(v);
    else if (a === '--rounds') out.rounds = Number(v);
    else if (a === '--calls') out.calls = Number(v);
    else if (a === '--models') out.models = v.split(',');
    else if (a === '--session-variants') out.sessionVariants = v; // 'all', 'no' or indices into variants(), e.g. 1,3
    else throw new Error(`unknown option ${a}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const ort = (await import('onnxruntime-node')) as unknown as OrtNode;
for (const name of args.only) {
  const c = benchCases().cases.find((x) => x.name === name);
  if (!c) throw new Error(`unknown bench case ${name}`);
  const compile = async (precision: Precision, accuracyLevel?: number, fusedAttention = false) => {
    const ctx = buildModel(c.model, { conditionInputs: c.model.kind === 'stage_c', precision, fusedAttention });
    if (accuracyLevel !== undefined) for (const n of ctx.g.nodes) if (n.opType === 'MatMulNBits') n.attrs.accuracy_level = accuracyLevel;
    return { ctx, compiled: await compileInMemory(ctx, randomWeightSource(ctx.expected, 1234)) };
  };
  const { ctx, compiled } = await compile('fp32');
  const size = inputSizes(c.model)[0];
  // Symbolic dimension names of the graph inputs → the bench sizes.
  const dims: Record<string, number> = {};
  for (const input of ctx.g.inputs) {
    (input.dims ?? []).forEach((d, i) => {
      if (typeof d === 'string' && size.shapes[input.name]) dims[d] = size.shapes[input.name][i];
    });
  }
  const gen = new TorchGenerator(99);
  const feeds: Record<string, Tensor> = {};
  for (const input of ctx.g.inputs) {
    const shape = size.shapes[input.name];
    if (!shape) continue;
    const data = input.name === 'r' ? new Float32Array(shape[0]).fill(0.5) : input.name === 'sca' || input.name === 'crp' ? new Float32Array(shape[0]) : gen.randn(shape);
    feeds[input.name] = new ort.Tensor('float32', data, shape);
  }
  const all = variants(args.threads, dims);
  const list: { name: string; options: Options; model: typeof compiled }[] = (args.sessionVariants === 'all' ? all : all.filter((_, i) => i === 0 || args.sessionVariants.split(',').map(Number).includes(i))).map((v) => ({ ...v, model: compiled }));
  for (const m of args.models.filter((x) => x !== 'fp32')) {
    if (m === 'fp32-grn') {
      const grn = buildModel(c.model, { conditionInputs: c.model.kind === 'stage_c' });
      const rewritten = reduceL2AsSumOfSquares(grn.g);
      list.push({ name: `fp32 build, ${rewritten} ReduceL2 → Sqrt(ReduceSum(x·x))`, options: all[0].options, model: await compileInMemory(grn, randomWeightSource(grn.expected, 1234)) });
      continue;
    }
    if (m === 'fp32-mha') {
      list.push({ name: 'fp32 build, fusedAttention (MultiHeadAttention)', options: all[0].options, model: (await compile('fp32', undefined, true)).compiled });
      continue;
    }
    const [precision, acc] = m.split('-acc') as [Precision, string | undefined];
    list.push({ name: `${precision} build${acc ? `, MatMulNBits accuracy_level ${acc}` : ''}`, options: all[0].options, model: (await compile(precision, acc ? Number(acc) : undefined)).compiled });
  }
  const sessions: InferenceSession[] = [];
  for (const v of list) {
    sessions.push(await ort.InferenceSession.create(v.model.model, { ...v.options, externalData: v.model.externalData as InferenceSession.SessionOptions['externalData'] }));
    await sessions[sessions.length - 1].run(feeds);
  }
  const times: number[][] = list.map(() => []);
  const cpuTimes: number[][] = list.map(() => []);
  const ratios: number[][] = list.map(() => []);
  for (let round = 0; round < args.rounds; round++) {
    const roundMs: number[] = [];
    for (let k = 0; k < list.length; k++) {
      const i = (k + round) % list.length;
      const callMs: number[] = [];
      for (let j = 0; j < args.calls; j++) {
        const cpu = process.cpuUsage();
        const t = performance.now();
        await sessions[i].run(feeds);
        callMs.push(performance.now() - t);
        const used = process.cpuUsage(cpu);
        cpuTimes[i].push((used.user + used.system) / 1000);
      }
      times[i].push(...callMs);
      roundMs[i] = median(callMs);
    }
    for (let i = 0; i < list.length; i++) ratios[i].push(roundMs[i] / roundMs[0]);
    process.stderr.write(`${name} round ${round + 1}/${args.rounds}: ${roundMs.map((x) => x.toFixed(0)).join(' ')}\n`);
  }
  for (const s of sessions) await s.release();
  console.log(`\n### ${name} (${size.label}), onnxruntime-node, ${args.threads} threads, ${args.rounds} rounds × ${args.calls} calls per variant\n`);
  console.log('| variant | median ms | min ms | median CPU ms | median of paired ratios to the bench options (wall) | CPU-time ratio |');
  console.log('|---|---:|---:|---:|---:|---:|');
  list.forEach((v, i) => console.log(`| ${v.name} | ${median(times[i]).toFixed(0)} | ${Math.min(...times[i]).toFixed(0)} | ${median(cpuTimes[i]).toFixed(0)} | ${median(ratios[i]).toFixed(3)} | ${(median(cpuTimes[i]) / median(cpuTimes[0])).toFixed(3)} |`));
}
