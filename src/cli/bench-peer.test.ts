import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerFileError, peerCaseName, readPeerFile } from './bench-peer.ts';

const dir = mkdtempSync(join(tmpdir(), 'sote-bench-peer-'));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

describe('PyTorch peer file', () => {
  it('reads summarize.py summary.json medians per case and thread count', () => {
    const m = readPeerFile(file('summary.json', {
      stage_c_medium: { median_of_pass_medians: { pt1: 1918, pt2: 1121, node2: 775 } },
      stage_a_full_512: { median_of_pass_medians: { pt2: 6119 } },
    }));
    expect([...m.entries()].sort()).toEqual([['stage_a_full_512@2', 6119], ['stage_c_medium@1', 1918], ['stage_c_medium@2', 1121]]);
  });

  it('reads CPU-time medians beside the wall medians when the file has them', () => {
    const summary = readPeerFile(file('summary-cpu.json', {
      stage_b_medium: { median_of_pass_medians: { pt1: 315 }, cpu_median_of_pass_medians: { pt1: 310, node1: 200 } },
    }));
    expect([...summary.entries()].sort()).toEqual([['stage_b_medium@1', 315], ['stage_b_medium@1:cpu', 310]]);
    const results = readPeerFile(file('results-cpu.json', { results: [{ case: 'stage_b_medium', backend: 'pytorch', threads: 1, median_ms: 400, cpu_median_ms: 330 }] }));
    expect(results.get('stage_b_medium@1:cpu')).toBe(330);
    expect(() => readPeerFile(file('cpu-only.json', { stage_b_medium: { cpu_median_of_pass_medians: { pt1: 310 } } }))).toThrow(PeerFileError);
  });

  it('reads the bench --json shape, PyTorch rows only', () => {
    const m = readPeerFile(file('results.json', { results: [
      { case: 'stage_b_medium', backend: 'pytorch', threads: 2, median_ms: 193 },
      { case: 'stage_b_medium', backend: 'onnxruntime-node', threads: 2, median_ms: 143 },
      { case: 'stage_b_medium', threads: 1, median_ms: 315 },
    ] }));
    expect([...m.entries()].sort()).toEqual([['stage_b_medium@1', 315], ['stage_b_medium@2', 193]]);
  });

  it('refuses a file without medians or not JSON, naming the expected shapes', () => {
    expect(() => readPeerFile(file('empty.json', { results: [] }))).toThrow(PeerFileError);
    expect(() => readPeerFile(file('bad.json', '{'))).toThrow(/summary\.json/);
  });

  it('maps Stage A rows to the peer case of their image size', () => {
    expect(peerCaseName('stage_a_full', { latents: [1, 4, 128, 128] })).toBe('stage_a_full_512');
    expect(peerCaseName('stage_c_medium', { x: [2, 16, 24, 24] })).toBe('stage_c_medium');
  });
});
