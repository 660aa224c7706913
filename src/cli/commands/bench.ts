/**
 * `bench` (`npm run bench`): forward-pass timing and memory of the networks on onnxruntime-node (1 and 2
 * intra-op threads), onnxruntime-web WASM (1 thread) in Node and onnxruntime-web WASM in headless Chromium (the
 * app's worker set-up: its thread count and 1; scripts/bench-wasm-browser.ts), printed as markdown tables with
 * the process CPU time per call beside the wall time (bench-report.ts). No asserts.
 *
 * Cases: the tiny demo model's Stage C/B/A, and every config of the shared bench folder (SOTE_BENCH_DIR,
 * default ../shared/bench: stage_c_medium, stage_b_medium, stage_a_full), all with random weights
 * (randomWeightSource, built in memory, full un-split graphs), at the input sizes of the bench README:
 *   Stage C  x [2,16,24,24] (1024² image), clip_text [2,77,Ct], clip_text_pooled [2,1,Ct], clip_img [2,1,Ci], r [2]
 *   Stage B  x [2,4,128,128] (512² image), effnet [2,16,12,12], clip [2,1,Ct], r [2]
 *   Stage A  latents [1,4,64,64] and [1,4,128,128]
 *
 * Each (case, backend) runs in its own child process, so "peak RSS" is that process's high-water mark
 * (process.resourceUsage().maxRSS, which cannot be reset within a process) and onnxruntime-web's one-time WASM
 * initialisation is isolated. Peak RSS includes Node itself ("RSS before") and the JS-side copies of the random
 * weights and of the serialized model handed to onnxruntime (each about the fp32 weight size), so it exceeds
 * the memory plan, which counts what onnxruntime holds.
 *
 * Protocol: --full follows the bench README (2 warm-ups, 7 timed runs, every size). The default keeps the whole
 * bench to a few minutes on a 2-core machine: 1 warm-up, then as many runs (1–7) as fit in ~8 s. A run expected
 * to take over 10 s (first size: its first run; later sizes: the estimate from the previous size, scaled by
 * element count) is reported as one cold run; a size estimated over 30 s per run is skipped. The "runs" column
 * (warm-ups + timed runs) says what was done. The browser rows take 1 warm-up + 3 runs (--full: 2 + 7).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { graphWeightBytes, stageAActivations, stageBActivations, stageCActivations } from '../../engine/memory-plan.ts';
import { loadOrtModule, NODE_ENGINE_BACKENDS, type NodeEngineBackend } from '../../engine/node-engine.ts';
import { compileInMemory } from '../../models/compile.ts';
import { DEMO_COMPONENTS, randomWeightSource } from '../../models/demo-model.ts';
import { buildModel, parseModelConfig, type AnyModelConfig } from '../../models/registry.ts';
import { shapeNumel, TorchGenerator } from '../../core/torch-generator.ts';
import { oneOf, parseCli, UsageError } from '../args.ts';
import { peerCaseName, readPeerFile, type PeerMedians } from '../bench-peer.ts';
import type { CliCommand } from '../command.ts';
import { BENCH_BACKENDS, formatBenchReport, jsonRows, median, type BenchBackend, type ChildResult, type TimedSize } from './bench-report.ts';
import { benchSamplerSettings, formatSamplerBench, type SamplerBenchRow } from './bench-samplers.ts';

const USAGE = 'npm run bench [-- --backend node,wasm,browser (any of them)] [--only <case or prefix>] [--full] [--samplers] [--json <file>] [--peer <PyTorch summary.json>]';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BENCH_DIR = resolve(process.env.SOTE_BENCH_DIR ?? join(repoRoot, '../shared/bench'));

/** Marks the child's one result line on stdout. */
const RESULT_MARK = 'BENCH_RESULT ';
const RUN_BUDGET_MS = 8000;
const COLD_RUN_MS = 10000;
const SKIP_ESTIMATE_MS = 30000;
const NODE_THREADS = [1, 2];
const MIB = 2 ** 20;

type BenchModel = Exclude<AnyModelConfig, { kind: 'clip_text' }>;

const BROWSER_SCRIPT = join(repoRoot, 'scripts/bench-wasm-browser.ts');

interface BenchCase {
  /** e.g. "tiny-demo/stage_c" or "stage_c_medium". */
  name: string;
  model: BenchModel;
}

/** One input size of a case: the feeds' shapes and the image size the memory plan assumes. */
interface InputSize {
  label: string;
  shapes: Record<string, number[]>;
  image: { width: number; height: number; images: number };
}


/** A minimal module using one v128 instruction: WebAssembly.validate says whether this runtime has SIMD. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** The README's input sizes (batch 2 = one CFG pair for C/B, one image for A). */
export function inputSizes(model: BenchModel): InputSize[] {
  switch (model.kind) {
    case 'stage_c': {
      const k = model.config.kwargs;
      return [{
        label: `x 2×${k.c_in}×24×24`,
        shapes: {
          x: [2, k.c_in, 24, 24], r: [2], clip_text: [2, 77, k.c_clip_text], clip_text_pooled: [2, 1, k.c_clip_text_pooled],
          clip_img: [2, 1, k.c_clip_img], sca: [2], crp: [2],
        },
        image: { width: 1024, height: 1024, images: 1 },
      }];
    }
    case 'stage_b': {
      const k = model.config.kwargs;
      return [{
        label: `x 2×${k.c_in}×128×128`,
        shapes: { x: [2, k.c_in, 128, 128], r: [2], effnet: [2, k.c_effnet, 12, 12], clip: [2, 1, k.c_clip] },
        image: { width: 512, height: 512, images: 1 },
      }];
    }
    case 'stage_a': {
      const c = model.config.kwargs.c_latent;
      return [64, 128].map((s) => ({ label: `latents 1×${c}×${s}×${s}`, shapes: { latents: [1, c, s, s] }, image: { width: 4 * s, height: 4 * s, images: 1 } }));
    }
  }
}

/** Memory plan: fp32 weight bytes of the built graph + estimated peak activations at the largest size. */
function planBytes(model: BenchModel): { weights: number; activations: number } {
  const ctx = buildModel(model, { conditionInputs: model.kind === 'stage_c' });
  const sizes = inputSizes(model);
  const { width, height, images } = sizes[sizes.length - 1].image;
  const act = model.kind === 'stage_c' ? stageCActivations(model.config, width, height, images, false)
    : model.kind === 'stage_b' ? stageBActivations(model.config, width, height, images, false)
    : stageAActivations(model.config, width, height, images);
  return { weights: graphWeightBytes(ctx.g), activations: act.peakBytes };
}

export function benchCases(): { cases: BenchCase[]; missing?: string } {
  const cases: BenchCase[] = [];
  for (const m of DEMO_COMPONENTS) {
    if (m.kind !== 'clip_text') cases.push({ name: `tiny-demo/${m.kind}`, model: m });
  }
  if (!existsSync(BENCH_DIR)) return { cases, missing: BENCH_DIR };
  for (const file of readdirSync(BENCH_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const model = parseModelConfig(JSON.parse(readFileSync(join(BENCH_DIR, file), 'utf8')));
    if (model.kind === 'clip_text') continue;
    cases.push({ name: basename(file, '.json'), model });
  }
  return { cases, missing: undefined };
}


/** Runs inside the child: compile, then per thread count a session and the timed forwards. */
async function runChild(c: BenchCase, backend: NodeEngineBackend, full: boolean): Promise<ChildResult> {
  const rssBeforeMiB = process.memoryUsage().rss / MIB;
  const compileStarted = performance.now();
  const ctx = buildModel(c.model, { conditionInputs: c.model.kind === 'stage_c' });
  const compiled = await compileInMemory(ctx, randomWeightSource(ctx.expected, 1234));
  const compileMs = performance.now() - compileStarted;
  const ort = (await loadOrtModule(backend)) as unknown as {
    InferenceSession: { create(m: Uint8Array, o: InferenceSession.SessionOptions): Promise<InferenceSession> };
    Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
  };
  const gen = new TorchGenerator(99);
  const timings: TimedSize[] = [];
  for (const threads of backend === 'node' ? NODE_THREADS : [1]) {
    const sessionStarted = performance.now();
    const session = await ort.InferenceSession.create(compiled.model, {
      executionProviders: [backend === 'node' ? 'cpu' : 'wasm'],
      externalData: compiled.externalData,
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const sessionMs = performance.now() - sessionStarted;
    let previous: { ms: number; numel: number } | undefined;
    for (const size of inputSizes(c.model)) {
      const feeds: Record<string, Tensor> = {};
      for (const name of session.inputNames) {
        const dims = size.shapes[name];
        if (!dims) throw new Error(`${c.name}: no bench shape for input ${name}`);
        // r in (0,1) like a mid-schedule step; sca/crp zero as the sampler feeds them; the rest N(0,1).
        const data = name === 'r' ? new Float32Array(dims[0]).fill(0.5) : name === 'sca' || name === 'crp' ? new Float32Array(dims[0]) : gen.randn(dims);
        feeds[name] = new ort.Tensor('float32', data, dims);
      }
      const numel = shapeNumel(size.shapes[session.inputNames.includes('x') ? 'x' : 'latents']);
      const estimate = previous && (previous.ms * numel) / previous.numel;
      const row: TimedSize = { label: size.label, caseName: peerCaseName(c.name, size.shapes), threads, sessionMs, warmups: 0, runsMs: [], cpuMs: [], note: '' };
      timings.push(row);
      if (!full && estimate !== undefined && estimate > SKIP_ESTIMATE_MS) {
        row.note = `skipped: ≈${(estimate / 1000).toFixed(0)} s/run estimated (--full runs it)`;
        continue;
      }
      let lastCpuMs = 0;
      const forward = async () => {
        const cpu = process.cpuUsage();
        const t = performance.now();
        await session.run(feeds);
        const wall = performance.now() - t;
        const used = process.cpuUsage(cpu);
        lastCpuMs = (used.user + used.system) / 1000;
        return wall;
      };
      const timed = async () => {
        const wall = await forward();
        row.cpuMs!.push(lastCpuMs);
        return wall;
      };
      if (full) {
        for (let i = 0; i < 2; i++) await forward();
        row.warmups = 2;
        for (let i = 0; i < 7; i++) row.runsMs.push(await timed());
      } else {
        const first = await forward();
        // With an estimate from the previous size, trust it over this first run: the first run at a new size also
        // grows onnxruntime's arena and can take several times a warm run.
        const slow = estimate !== undefined ? estimate > COLD_RUN_MS : first > COLD_RUN_MS;
        if (slow) {
          row.runsMs.push(first);
          row.cpuMs!.push(lastCpuMs);
          row.note = 'one cold run (no warm-up): slow case';
        } else {
          row.warmups = 1;
          const runs = Math.max(1, Math.min(7, Math.floor(RUN_BUDGET_MS / first)));
          for (let i = 0; i < runs; i++) row.runsMs.push(await timed());
        }
      }
      previous = { ms: median(row.runsMs), numel };
    }
    await session.release();
  }
  const env = (ort as unknown as { env?: { wasm?: { numThreads?: number } } }).env;
  const wasm = backend === 'wasm' ? { threads: env?.wasm?.numThreads ?? 1, simd: (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(SIMD_PROBE) } : undefined;
  return { name: c.name, backend, compileMs, rssBeforeMiB, maxRssMiB: process.resourceUsage().maxRSS / 1024, timings, wasm };
}

/** Runs one (case, backend) in a child process of the same CLI, or the browser script (same tsx loader flags). */
function spawnChild(name: string, backend: BenchBackend, full: boolean): Promise<ChildResult> {
  const args = backend === 'browser'
    ? [...process.execArgv, BROWSER_SCRIPT, '--case', name, ...(full ? ['--full'] : [])]
    : [...process.execArgv, process.argv[1], 'bench', '--child', name, '--backend', backend, ...(full ? ['--full'] : [])];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (code !== 0 || !line) reject(new Error(`bench child for ${name} on ${backend} exited with ${code}:\n${out}`));
      else resolvePromise(JSON.parse(line.slice(RESULT_MARK.length)) as ChildResult);
    });
  });
}


export const command: CliCommand = {
  summary: 'time forward passes and memory of the demo and bench configs on onnxruntime-node and WASM (markdown)',
  async run(argv) {
    const { values } = parseCli(argv, {
      backend: { type: 'string' },
      only: { type: 'string' },
      full: { type: 'boolean', default: false },
      samplers: { type: 'boolean', default: false },
      child: { type: 'string' },
      json: { type: 'string' },
      peer: { type: 'string' },
    }, USAGE);
    const { cases, missing } = benchCases();
    const full = values.full ?? false;
    if (values.samplers) return printSamplerBench(cases);

    if (values.child !== undefined) {
      const c = cases.find((x) => x.name === values.child);
      if (!c) throw new Error(`unknown bench case ${values.child}`);
      const backend = oneOf(values.backend, NODE_ENGINE_BACKENDS, '--backend', 'node', USAGE);
      console.log(RESULT_MARK + JSON.stringify(await runChild(c, backend, full)));
      return;
    }

    if (missing) console.log(`SKIPPED: bench configs not found at ${missing} (set SOTE_BENCH_DIR); benchmarking the demo model only\n`);
    const backends = values.backend === undefined ? BENCH_BACKENDS : values.backend.split(',').map((b) => oneOf(b, BENCH_BACKENDS, '--backend', 'node', USAGE));
    const only = values.only;
    const selected = only === undefined ? cases : cases.filter((c) => c.name === only || c.name.startsWith(`${only}/`) || c.name.startsWith(only));
    if (!selected.length) throw new UsageError(`--only ${only} matches no case; cases: ${cases.map((c) => c.name).join(', ')}`, USAGE);

    const peer: PeerMedians | undefined = values.peer === undefined ? undefined : readPeerFile(values.peer);
    const started = performance.now();
    const results: ChildResult[] = [];
    for (const c of selected) {
      for (const backend of backends) {
        process.stderr.write(`bench: ${c.name} on ${backend}…`);
        const t = performance.now();
        results.push(await spawnChild(c.name, backend, full));
        process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
      }
    }

    const plans = new Map(selected.map((c) => [c.name, planBytes(c.model)]));
    console.log(formatBenchReport(results, plans, { full, peer, peerPath: values.peer }));
    if (values.json) {
      writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), results: jsonRows(results) }, null, 2));
      console.log(`wrote ${values.json}`);
    }
    console.log(
      `\nWASM in Node runs one thread (multi-threaded WASM in Node needs worker_threads; see engine/node-engine.ts); the Chromium rows run the app's thread count and one thread. ` +
        `"build ms" = building the graph + random weights + serializing, not a runtime cost. Total ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    );
    if (only === undefined) await printSamplerBench(cases);
  },
};


/** The sampler comparison (bench-samplers.ts): the demo pair at the hosted default size, the medium pair at 512². */
async function printSamplerBench(cases: BenchCase[]): Promise<void> {
  const find = (name: string) => cases.find((c) => c.name === name)?.model;
  const pairs = [
    { label: 'tiny-demo', c: find('tiny-demo/stage_c'), b: find('tiny-demo/stage_b'), size: { width: 1024, height: 1536 } },
    { label: 'medium', c: find('stage_c_medium'), b: find('stage_b_medium'), size: { width: 512, height: 512 } },
  ];
  const rows: SamplerBenchRow[] = [];
  for (const p of pairs) {
    if (p.c?.kind !== 'stage_c' || p.b?.kind !== 'stage_b') continue;
    process.stderr.write(`bench: samplers on ${p.label}…`);
    const t = performance.now();
    rows.push(...(await benchSamplerSettings(p.label, p.c, p.b, p.size, 'node')));
    process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  console.log('\n## One image\'s sampling: hosted defaults vs the SoteDiffusion v2 recommended preset (onnxruntime-node, 2 threads default)\n');
  console.log(formatSamplerBench(rows));
  console.log('\nText encoding and the Stage A decode are the same for both and not included.');
}
