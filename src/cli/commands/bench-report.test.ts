import { describe, expect, it } from 'vitest';
import { formatBenchReport, jsonRows, wasmLine, type ChildResult } from './bench-report.ts';

const timing = (threads: number, runsMs: number[], cpuMs?: number[]) => ({
  label: 'x 2×16×24×24', caseName: 'stage_c_medium', threads, sessionMs: 900, warmups: 2, runsMs, cpuMs, note: '',
});
const node: ChildResult = {
  name: 'stage_c_medium', backend: 'node', compileMs: 2000, rssBeforeMiB: 80, maxRssMiB: 600,
  timings: [timing(1, [1500, 1400, 1600], [1490, 1390, 1590]), timing(2, [800, 700, 900], [1500, 1400, 1700])],
};
const browser: ChildResult = {
  name: 'stage_c_medium', backend: 'browser', compileMs: 2000, rssBeforeMiB: null, maxRssMiB: null,
  timings: [timing(2, [3000, 3100, 2900])],
  wasm: { threads: 2, simd: true, crossOriginIsolated: true, hardwareConcurrency: 2, build: 'jspi', chromium: '156.0.8078.114' },
};
const plans = new Map([['stage_c_medium', { weights: 190 * 2 ** 20, activations: 50 * 2 ** 20 }]]);

describe('bench report', () => {
  it('puts the peer median and peer ÷ ours beside each timed row with a peer number', () => {
    const peer = new Map([['stage_c_medium@2', 1120], ['stage_c_medium@1:cpu', 2235]]);
    const text = formatBenchReport([node], plans, { full: true, peer, peerPath: 'summary.json' });
    const row2 = text.split('\n').find((l) => l.startsWith('| stage_c_medium | x 2×16×24×24 | onnxruntime-node | 2 |'));
    // median 800, CPU median 1500, peer 1120 → 1.40×; no peer CPU number at 2 threads
    expect(row2).toContain('| 800 | 700 | 900 | 1500 | 1120 | 1.40× | — |');
    const row1 = text.split('\n').find((l) => l.startsWith('| stage_c_medium | x 2×16×24×24 | onnxruntime-node | 1 |'));
    // no peer wall number at 1 thread; peer CPU 2235 ÷ our CPU median 1490 → 1.50×
    expect(row1).toContain('| 1500 | 1400 | 1600 | 1490 | — | — | 1.50× |');
    expect(text).toContain('PyTorch peer medians: summary.json');
  });

  it('leaves the browser out of the memory table and says what its WASM ran with', () => {
    const text = formatBenchReport([node, browser], plans, { full: true });
    const memory = text.slice(text.indexOf('## Memory'));
    expect(memory).toContain('| stage_c_medium | node |');
    expect(memory).not.toContain('| stage_c_medium | browser |');
    expect(text).toContain('| onnxruntime-web wasm (Chromium worker) | 2 |');
    expect(text).toContain('2 threads of 2 logical cores, SIMD yes, cross-origin isolated yes');
    expect(text).not.toContain('PyTorch peer');
  });

  it('says when the browser worker was not isolated (one thread) or the runtime has no SIMD', () => {
    const line = wasmLine('browser', { threads: 1, simd: false, crossOriginIsolated: false, hardwareConcurrency: 8 });
    expect(line).toContain('1 thread of 8 logical cores');
    expect(line).toContain('SIMD NO');
    expect(line).toContain('cross-origin isolated NO');
    expect(wasmLine('wasm', { threads: 1, simd: true })).toBe('onnxruntime-web WASM in Node: 1 thread, SIMD yes (onnxruntime-web ships only SIMD builds).');
  });

  it('writes one JSON row per timed (case, backend, threads), with the CPU median where measured', () => {
    expect(jsonRows([node, browser])).toEqual([
      { case: 'stage_c_medium', backend: 'onnxruntime-node', threads: 1, median_ms: 1500, cpu_median_ms: 1490 },
      { case: 'stage_c_medium', backend: 'onnxruntime-node', threads: 2, median_ms: 800, cpu_median_ms: 1500 },
      { case: 'stage_c_medium', backend: 'onnxruntime-web-wasm-chromium', threads: 2, median_ms: 3000 },
    ]);
  });
});
