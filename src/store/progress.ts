/**
 * Typed progress of an install. Every event is data (bytes, rates, seconds); the UI formats it — nothing here
 * is free text to be parsed.
 */
import type { ModelKind } from '../models/checkpoint-source.ts';
import type { DownloadRole } from './descriptor.ts';

/** What an install converts: a network, or the safety checker (installed with the model). */
export type ConvertedPart = ModelKind | 'safety_checker';

export interface ByteProgress {
  bytesDone: number;
  /** Undefined until the size is known (first Content-Range). */
  bytesTotal: number | undefined;
  /** Bytes per second over the recent window (0 until measured). */
  bytesPerSecond: number;
  /** Seconds to finish at the current rate; undefined when unknown. */
  etaSeconds: number | undefined;
}

export type InstallEvent =
  | { type: 'quota'; needed: number; usage: number; quota: number; persisted: boolean }
  | { type: 'download'; file: string; role: DownloadRole; fileProgress: ByteProgress; overall: ByteProgress; resumedBytes: number }
  | { type: 'download-retry'; file: string; attempt: number; delayMs: number; reason: string }
  | { type: 'verify'; file: string; algorithm: 'sha256' | 'git-sha1'; expected: string; ok: boolean }
  | { type: 'convert'; kind: ConvertedPart; chunk: number; chunks: number; bytesDone: number; bytesTotal: number }
  | { type: 'component-done'; kind: ConvertedPart; bytes: number }
  | { type: 'installed'; id: string; bytes: number };

export type InstallListener = (event: InstallEvent) => void;

/**
 * Rate over a sliding window (default 5 s), so the ETA follows a changing network instead of averaging over
 * the whole install. Samples are (time, cumulative bytes).
 */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000, private readonly now: () => number = () => performance.now()) {}

  add(cumulativeBytes: number): void {
    const t = this.now();
    this.samples.push({ t, bytes: cumulativeBytes });
    while (this.samples.length > 2 && t - this.samples[1].t > this.windowMs) this.samples.shift();
  }

  bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? (b.bytes - a.bytes) / dt : 0;
  }

  progress(bytesDone: number, bytesTotal: number | undefined): ByteProgress {
    const rate = this.bytesPerSecond();
    const eta = bytesTotal !== undefined && rate > 0 ? Math.max(0, (bytesTotal - bytesDone) / rate) : undefined;
    return { bytesDone, bytesTotal, bytesPerSecond: rate, etaSeconds: eta };
  }
}
