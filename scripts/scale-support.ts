/**
 * Measuring helpers for the scale benchmark (scripts/scale.ts): resident memory of a process tree from /proc,
 * a 1 Hz sampler that attributes each sample to the phase running at that moment, disk usage of a folder, and
 * the result JSON / markdown table; and what the parts share with the entry (part names, the run context, running
 * a command), so the parts never import scale.ts back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { REPO_ROOT, type StaticServer } from '../e2e/support/server.ts';

export const PART_NAMES = ['wasm-int4', 'webgpu-int8', 'node'] as const;
export type PartName = (typeof PART_NAMES)[number];

export interface ScaleContext {
  fixtureDir: string;
  descriptor: { id: string; source: { repo: string; revision: string; files: { path: string; role: string; size?: number }[] } };
  hub: StaticServer;
  /** The descriptor as served by `hub` (its source.hub is the hub's origin). */
  descriptorUrl: string;
  /** Set by the hub's cut-off: the Stage C connection was dropped once (bytes served when it was). */
  stageCCut: { done: boolean };
  appOrigin: string;
  webgpuGenerate: boolean;
  /** Poll the workers' memory (measureUserAgentSpecificMemory) during the part: see scale-browser.ts. */
  measureWorkers: boolean;
  /**
   * wasm-int4: after the reload generation, this many more offline reloads, each loading every network from
   * IndexedDB through "Test on this device" (how often a load from the store completes; 0 = none).
   */
  reloadChecks: number;
  /** node: the precisions converted and generated, in order (fp16 with sequential residency). */
  nodePrecisions: NodePrecision[];
  log: (line: string) => void;
}

export const NODE_PRECISIONS = ['int8', 'fp16'] as const;
export type NodePrecision = typeof NODE_PRECISIONS[number];

/** Runs a command, streaming its output lines to `onLine`; resolves with the exit code. */
export function runCommand(cmd: string, args: string[], onLine: (line: string) => void, onPid?: (pid: number) => void): Promise<number> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    if (child.pid) onPid?.(child.pid);
    let buffer = '';
    const feed = (chunk: Buffer) => {
      buffer += chunk.toString('utf8').replace(/\r/g, '\n');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) onLine(l);
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (buffer.trim()) onLine(buffer);
      // Killed by a signal (the kernel's OOM killer sends SIGKILL): 128 + its number, as a shell reports it.
      ok(code ?? 128 + (signal ? osConstants.signals[signal] : 0));
    });
  });
}

export interface PhaseResult {
  name: string;
  seconds: number;
  /** Peak over the phase of the summed VmRSS of every process of the browser (or of the Node child). */
  peak_rss_bytes: number;
  /**
   * Peak of the page's dedicated workers' memory as Chromium attributes it (performance.measureUserAgentSpecificMemory:
   * JS heap plus ArrayBuffers and WebAssembly memories, i.e. onnxruntime-web's wasm heap), browser parts only.
   */
  peak_js_heap_bytes?: number;
  /**
   * Peak summed PSS (/proc/<pid>/smaps_rollup): pages shared by several processes (the Chromium binary, shared
   * memory between renderer and GPU process) count once in total instead of once per process as in the RSS sum.
   */
  peak_pss_bytes?: number;
  /** At the peak sample: VmRSS summed per Chromium process type (browser, renderer, gpu-process, utility, …). */
  peak_rss_by_process?: Record<string, number>;
}

export interface PartResult {
  name: string;
  ok: boolean;
  error?: string;
  phases: PhaseResult[];
  package_bytes: number;
  idb_bytes: number;
  downloaded_bytes: number;
  /**
   * Every generation of the part completed and its image is not degenerate. The pipeline reads back only the
   * final RGB8 image, so a NaN/Inf latent shows up as a flat or zero image: this is checked (> 16 distinct
   * 8-bit values per image), not the float latents themselves.
   */
  finite: boolean;
  /** Disk used by the part at its end (profile + packages), before cleanup. */
  disk_bytes?: number;
  notes: string[];
  /** Per-step and other details (node part: step times, FLOPs, GFLOP/s, extrapolation). */
  details?: Record<string, unknown>;
}

export interface ScaleResult {
  date: string;
  machine: { cpus: number; cpu_model: string; mem_bytes: number; chromium?: string; node: string };
  command: string;
  fixture: { dir: string; scale?: string; bytes?: number };
  parts: PartResult[];
}

/** Pids of `roots` and all their descendants (from /proc/<pid>/stat ppid), each once. */
export function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while listing
    }
  }
  // Each pid once: Chromium's child processes carry the --user-data-dir of pidsWithArg too, so a root can also be
  // a descendant of another root (counted twice or thrice before, inflating every summed RSS).
  const out = new Set<number>();
  const queue = [...roots];
  while (queue.length) {
    const pid = queue.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...out];
}

/** Pids whose command line contains `needle` (e.g. a Chromium --user-data-dir). */
export function pidsWithArg(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** VmRSS (bytes) of the given processes, summed per Chromium `--type=` (the main process is 'browser'). */
export function rssByType(pids: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) continue;
      const type = /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
      out[type] = (out[type] ?? 0) + Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return out;
}

/** Summed proportional set size (bytes) of the given processes: a shared page counts once across them. */
export function pssBytes(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) sum += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return sum;
}

/** Summed VmRSS (bytes) of the given processes. */
export function rssBytes(pids: number[]): number {
  return Object.values(rssByType(pids)).reduce((a, b) => a + b, 0);
}

export function diskBytes(path: string): number {
  try {
    return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return 0;
  }
}

interface Sample {
  at: number;
  phase: string;
  rss: number;
  heap?: number;
  pss?: number;
  byType?: Record<string, number>;
}

/**
 * Samples memory once a second and tags each sample with the current phase (`setPhase`, or `probe()` when it
 * returns a name). Phases are reported in first-seen order; a phase's seconds run from its first sample to the
 * next phase's first sample.
 */
export class PhaseSampler {
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private phase = 'start';
  private busy = false;

  constructor(
    /** Total RSS, or total plus a per-process-type breakdown (and the summed PSS). */
    private readonly rss: () => number | { total: number; byType: Record<string, number>; pss?: number },
    private readonly probe?: () => Promise<{ phase?: string; heap?: number }>,
    private readonly intervalMs = 1000,
    /** Called when the phase changes (progress output). */
    private readonly onPhase?: (name: string) => void,
  ) {}

  private announce(name: string): void {
    if (name !== this.phase) this.onPhase?.(name);
  }

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  private measure(): { rss: number; byType?: Record<string, number>; pss?: number } {
    const r = this.rss();
    return typeof r === 'number' ? { rss: r } : { rss: r.total, byType: r.byType, ...(r.pss !== undefined ? { pss: r.pss } : {}) };
  }

  setPhase(name: string): void {
    this.announce(name);
    this.phase = name;
    this.samples.push({ at: Date.now(), phase: name, ...this.measure() });
  }

  private tick(): void {
    if (this.busy) return;
    this.busy = true;
    const at = Date.now();
    const m = this.measure();
    const done = (p?: { phase?: string; heap?: number }) => {
      if (p?.phase) {
        this.announce(p.phase);
        this.phase = p.phase;
      }
      this.samples.push({ at, phase: this.phase, ...m, ...(p?.heap ? { heap: p.heap } : {}) });
      this.busy = false;
    };
    if (!this.probe) return done();
    // A busy worker may not answer; never let one probe block the sampling for long.
    Promise.race([this.probe(), new Promise<undefined>((ok) => setTimeout(() => ok(undefined), 3000))]).then(done, () => done());
  }

  stop(): PhaseResult[] {
    if (this.timer) clearInterval(this.timer);
    this.samples.push({ at: Date.now(), phase: '(end)', ...this.measure() });
    const order: string[] = [];
    const byPhase = new Map<string, { first: number; seconds: number; rss: number; heap?: number; pss?: number; byType?: Record<string, number> }>();
    for (let i = 0; i < this.samples.length - 1; i++) {
      const s = this.samples[i];
      const next = this.samples[i + 1];
      let p = byPhase.get(s.phase);
      if (!p) {
        p = { first: s.at, seconds: 0, rss: 0 };
        byPhase.set(s.phase, p);
        order.push(s.phase);
      }
      p.seconds += Math.max(0, next.at - s.at) / 1000;
      for (const x of next.phase === s.phase ? [s, next] : [s]) {
        if (x.rss > p.rss) {
          p.rss = x.rss;
          p.byType = x.byType;
        }
        if (x.pss !== undefined) p.pss = Math.max(p.pss ?? 0, x.pss);
      }
      if (s.heap !== undefined) p.heap = Math.max(p.heap ?? 0, s.heap);
    }
    return order.filter((n) => n !== 'start' || byPhase.get(n)!.seconds > 0.5).map((name) => {
      const p = byPhase.get(name)!;
      return {
        name, seconds: Math.round(p.seconds * 10) / 10, peak_rss_bytes: p.rss,
        ...(p.heap !== undefined ? { peak_js_heap_bytes: p.heap } : {}),
        ...(p.pss !== undefined ? { peak_pss_bytes: p.pss } : {}),
        ...(p.byType ? { peak_rss_by_process: p.byType } : {}),
      };
    });
  }
}

const gib = (b: number | undefined) => (b === undefined ? '—' : b > 0 && b < 2 ** 27 ? `${(b / 2 ** 30).toFixed(5)}` : `${(b / 2 ** 30).toFixed(2)}`);

export function markdownTable(result: ScaleResult): string {
  const lines = [
    `Scale run ${result.date} · ${result.machine.cpus} × ${result.machine.cpu_model} · ${gib(result.machine.mem_bytes)} GiB RAM · ${result.machine.chromium ?? ''} · node ${result.machine.node}`,
    `Command: \`${result.command}\``,
    '',
    '| part | phase | seconds | peak RSS (GiB) | peak PSS (GiB) | peak worker JS + wasm (GiB) | at the RSS peak, per process type (GiB) |',
    '|---|---|---:|---:|---:|---:|---|',
  ];
  for (const part of result.parts) {
    for (const ph of part.phases) lines.push(`| ${part.name} | ${ph.name} | ${ph.seconds.toFixed(1)} | ${gib(ph.peak_rss_bytes)} | ${gib(ph.peak_pss_bytes)} | ${gib(ph.peak_js_heap_bytes)} | ${Object.entries(ph.peak_rss_by_process ?? {}).sort((a, b) => b[1] - a[1]).map(([t, b]) => `${t} ${(b / 2 ** 30).toFixed(2)}`).join(', ')} |`);
  }
  lines.push('', '| part | ok | package (GiB) | IndexedDB (GiB) | downloaded (GiB) | disk used (GiB) | finite | error / notes |', '|---|---|---:|---:|---:|---:|---|---|');
  for (const p of result.parts) {
    lines.push(`| ${p.name} | ${p.ok ? 'yes' : 'NO'} | ${gib(p.package_bytes)} | ${gib(p.idb_bytes)} | ${gib(p.downloaded_bytes)} | ${gib(p.disk_bytes)} | ${p.finite ? 'yes' : 'no'} | ${[p.error, ...p.notes].filter(Boolean).join('; ').replace(/\|/g, '/')} |`);
  }
  return lines.join('\n');
}
