/**
 * The PyTorch-peer column of `npm run bench -- --peer <file>`: medians of the official PyTorch code on the same
 * configs and inputs (../shared/bench/peer/ has the recipe). Two file shapes are read:
 *
 * - summarize.py's summary.json: `{ "<case>": { "median_of_pass_medians": { "pt1": ms, "pt2": ms, … } } }` with
 *   cases stage_c_medium, stage_b_medium, stage_a_full_256, stage_a_full_512 (and optionally
 *   "cpu_median_of_pass_medians" of the same shape: process CPU time per call);
 * - the bench's own --json shape: `{ "results": [ { "case", "backend": "pytorch", "threads", "median_ms", "cpu_median_ms"? } ] }`.
 *
 * A peer number is only comparable with ours when both were measured side by side (the peer README: separate
 * processes differ by up to 50 %), so the table prints the peer file's path next to the ratio.
 */
import { readFileSync } from 'node:fs';

export class PeerFileError extends Error {
  constructor(path: string, why: string) {
    super(`--peer ${path}: ${why} (expected summarize.py's summary.json or { "results": [ { "case", "threads", "median_ms" } ] }; see ../shared/bench/peer/README.md)`);
    this.name = 'PeerFileError';
  }
}

/** Peer medians in ms by `${peerCase}@${threads}` (wall) and `${peerCase}@${threads}:cpu` (process CPU time, when given). */
export type PeerMedians = Map<string, number>;

export function readPeerFile(path: string): PeerMedians {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PeerFileError(path, (e as Error).message);
  }
  const out: PeerMedians = new Map();
  const obj = (raw ?? {}) as Record<string, unknown>;
  if (Array.isArray(obj.results)) {
    for (const r of obj.results as { case?: unknown; backend?: unknown; threads?: unknown; median_ms?: unknown; cpu_median_ms?: unknown }[]) {
      if (r.backend !== undefined && r.backend !== 'pytorch') continue;
      if (typeof r.case === 'string' && typeof r.threads === 'number' && typeof r.median_ms === 'number') out.set(`${r.case}@${r.threads}`, r.median_ms);
      if (typeof r.case === 'string' && typeof r.threads === 'number' && typeof r.cpu_median_ms === 'number') out.set(`${r.case}@${r.threads}:cpu`, r.cpu_median_ms);
    }
  } else {
    for (const [name, v] of Object.entries(obj)) {
      const summary = v as { median_of_pass_medians?: Record<string, unknown>; cpu_median_of_pass_medians?: Record<string, unknown> } | null;
      for (const [field, suffix] of [['median_of_pass_medians', ''], ['cpu_median_of_pass_medians', ':cpu']] as const) {
        for (const [col, ms] of Object.entries(summary?.[field] ?? {})) {
          const t = /^pt(\d+)$/.exec(col);
          if (t && typeof ms === 'number') out.set(`${name}@${t[1]}${suffix}`, ms);
        }
      }
    }
  }
  if (![...out.keys()].some((k) => !k.endsWith(':cpu'))) throw new PeerFileError(path, 'no PyTorch medians found');
  return out;
}

/**
 * The peer's case name for one of our (case, input) rows: Stage A has one peer case per latent size
 * (stage_a_full_256 for 64×64 latents, _512 for 128×128); the others share our case name.
 */
export function peerCaseName(caseName: string, shapes: Record<string, number[]>): string {
  const latents = shapes.latents;
  return latents ? `${caseName}_${4 * latents[2]}` : caseName;
}
