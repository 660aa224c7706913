/**
 * The tables and JSON rows of `npm run bench` (src/cli/commands/bench.ts) from its children's results: per-call
 * timings with the PyTorch-peer column, memory, and what the WASM runtimes ran with.
 */
import { NODE_ENGINE_BACKENDS, type NodeEngineBackend } from '../../engine/node-engine.ts';
import type { PeerMedians } from '../bench-peer.ts';

/**
 * node / wasm: onnxruntime-node and onnxruntime-web's WASM build inside Node (child processes of this command);
 * browser: onnxruntime-web WASM in headless Chromium, in a worker configured as the app's (scripts/bench-wasm-browser.ts).
 */
export type BenchBackend = NodeEngineBackend | 'browser';
export const BENCH_BACKENDS: readonly BenchBackend[] = [...NODE_ENGINE_BACKENDS, 'browser'];
const BACKEND_LABEL: Record<BenchBackend, string> = {
  node: 'onnxruntime-node', wasm: 'onnxruntime-web wasm (Node)', browser: 'onnxruntime-web wasm (Chromium worker)',
};
const JSON_BACKEND: Record<BenchBackend, string> = { node: 'onnxruntime-node', wasm: 'onnxruntime-web-wasm', browser: 'onnxruntime-web-wasm-chromium' };

export interface TimedSize {
  label: string;
  /** The case name the PyTorch peer and --json use for this input size (bench-peer.ts). */
  caseName: string;
  threads: number;
  sessionMs: number;
  warmups: number;
  runsMs: number[];
  /**
   * Process CPU time (user + system) of each timed run, ms; empty for the browser. With one thread this is the
   * compute time even when other jobs share the cores (wall time then stretches, CPU time barely moves); with more
   * threads it also counts the pool's spin-waiting.
   */
  cpuMs?: number[];
  note: string;
}

export interface ChildResult {
  name: string;
  backend: BenchBackend;
  compileMs: number;
  /** null for the browser (Chromium's processes are not this child's RSS). */
  rssBeforeMiB: number | null;
  maxRssMiB: number | null;
  timings: TimedSize[];
  /** onnxruntime-web only: the WASM thread count it runs with and whether this runtime validates SIMD code. */
  wasm?: { threads: number; simd: boolean; crossOriginIsolated?: boolean; hardwareConcurrency?: number; build?: string; chromium?: string };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const MIB = 2 ** 20;
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mib = (bytes: number) => (bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0);

/** The markdown report: timing table (with the peer column when `peer` is given), memory table, WASM lines. */
export function formatBenchReport(
  results: ChildResult[],
  plans: Map<string, { weights: number; activations: number }>,
  options: { full: boolean; peer?: PeerMedians; peerPath?: string },
): string {
  const { peer } = options;
  const out: string[] = [];
  out.push(`## Forward pass per step (random weights; ${options.full ? '2 warm-ups + 7 runs' : 'quick protocol, see "runs"; --full for the README protocol'})\n`);
  out.push(`| model | input | backend | threads | session ms | runs | median ms | min ms | max ms | CPU ms (median) |${peer ? ' PyTorch peer ms | peer ÷ ours | peer CPU ÷ ours CPU |' : ''} note |`);
  out.push(`|---|---|---|---:|---:|---|---:|---:|---:|---:|${peer ? '---:|---:|---:|' : ''}---|`);
  for (const r of results) {
    for (const t of r.timings) {
      const runs = t.runsMs.length ? `${t.warmups}+${t.runsMs.length}` : '—';
      const stats = t.runsMs.length ? [median(t.runsMs), Math.min(...t.runsMs), Math.max(...t.runsMs)].map(ms) : ['—', '—', '—'];
      stats.push(t.cpuMs?.length ? ms(median(t.cpuMs)) : '—');
      const peerMs = peer?.get(`${t.caseName}@${t.threads}`);
      const peerCpu = peer?.get(`${t.caseName}@${t.threads}:cpu`);
      const wallCells = peerMs === undefined || !t.runsMs.length ? ' — | — |' : ` ${ms(peerMs)} | ${(peerMs / median(t.runsMs)).toFixed(2)}× |`;
      const cpuCell = peerCpu === undefined || !t.cpuMs?.length ? ' — |' : ` ${(peerCpu / median(t.cpuMs)).toFixed(2)}× |`;
      const peerCells = peer ? wallCells + cpuCell : '';
      out.push(`| ${r.name} | ${t.label} | ${BACKEND_LABEL[r.backend]} | ${t.threads} | ${ms(t.sessionMs)} | ${runs} | ${stats.join(' | ')} |${peerCells} ${t.note} |`);
    }
  }
  const measured = results.filter((r) => r.rssBeforeMiB !== null && r.maxRssMiB !== null);
  if (measured.length) {
    out.push('\n## Memory (MiB; peak RSS of the process running that model on that backend, all its sizes and thread counts)\n');
    out.push('| model | backend | weights fp32 (plan) | activations at largest size (plan) | plan total | RSS before | peak RSS | peak − before | build ms |');
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  }
  for (const r of measured) {
    const p = plans.get(r.name);
    if (!p || r.rssBeforeMiB === null || r.maxRssMiB === null) continue;
    out.push(
      `| ${r.name} | ${r.backend} | ${mib(p.weights)} | ${mib(p.activations)} | ${mib(p.weights + p.activations)} | ` +
        `${r.rssBeforeMiB.toFixed(0)} | ${r.maxRssMiB.toFixed(0)} | ${(r.maxRssMiB - r.rssBeforeMiB).toFixed(0)} | ${ms(r.compileMs)} |`,
    );
  }
  out.push('');
  for (const backend of ['wasm', 'browser'] as const) {
    const w = results.find((r) => r.backend === backend && r.wasm)?.wasm;
    if (w) out.push(wasmLine(backend, w));
  }
  if (peer) out.push(`PyTorch peer medians: ${options.peerPath ?? '?'} (a ratio holds only for runs measured side by side; ../shared/bench/peer/README.md).`);
  return out.join('\n');
}

/** --json rows: one per (case, input size, backend, threads) that has timed runs. */
export function jsonRows(results: ChildResult[]): { case: string; backend: string; threads: number; median_ms: number; cpu_median_ms?: number }[] {
  return results.flatMap((r) => r.timings.filter((t) => t.runsMs.length).map((t) => ({
    case: t.caseName, backend: JSON_BACKEND[r.backend], threads: t.threads, median_ms: median(t.runsMs),
    ...(t.cpuMs?.length ? { cpu_median_ms: median(t.cpuMs) } : {}),
  })));
}

/** What the WASM runtime of a backend ran with: threads, SIMD, and in Chromium whether the worker was isolated. */
export function wasmLine(backend: 'wasm' | 'browser', w: NonNullable<ChildResult['wasm']>): string {
  const threads = `${w.threads} thread${w.threads === 1 ? '' : 's'}`;
  const simd = `SIMD ${w.simd ? 'yes' : 'NO'}`;
  if (backend === 'wasm') return `onnxruntime-web WASM in Node: ${threads}, ${simd} (onnxruntime-web ships only SIMD builds).`;
  return `onnxruntime-web WASM in Chromium ${w.chromium ?? ''} (the app's worker set-up, ${w.build ?? '?'} build): ${threads} of ${w.hardwareConcurrency ?? '?'} logical cores, ` +
    `${simd}, cross-origin isolated ${w.crossOriginIsolated ? 'yes' : 'NO (SharedArrayBuffer missing: one thread)'}.`;
}
