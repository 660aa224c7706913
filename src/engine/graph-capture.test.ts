/**
 * Graph capture is a WebGPU-only engine option (e2e/webgpu-graph-capture.test.ts covers the captured path in
 * Chromium): on a CPU backend the engine opens the same plain sessions whatever the option says.
 */
import { describe, expect, it } from 'vitest';
import { OrtEngine, type OrtModule } from './ort-engine.ts';
import { buildPairWithZerosGraph, compileWeightless } from '../models/pipeline-graphs.ts';

describe('OrtEngine graphCapture on a CPU backend', () => {
  it('opens per-step sessions uncaptured, silently, with the same results', async () => {
    const ort = (await import('onnxruntime-node')) as unknown as OrtModule;
    const log: string[] = [];
    const model = await compileWeightless(buildPairWithZerosGraph());
    const capturing = new OrtEngine(ort, 'node', { graphCapture: true, log: (m) => log.push(m) });
    const plain = new OrtEngine(ort, 'node');
    const a = capturing.f32(Float32Array.from({ length: 8 }, (_, i) => i + 1), [1, 2, 2, 2]);
    const s1 = await capturing.createSession(model, { perStep: true, label: 'pair' });
    const s2 = await plain.createSession(model);
    expect(s1.captured).toBe(false);
    const [o1, o2] = [(await s1.run({ a })).pair, (await s2.run({ a })).pair];
    expect(o1.dims).toEqual([2, 2, 2, 2]);
    expect(Array.from(o1.data as Float32Array)).toEqual(Array.from(o2.data as Float32Array));
    expect(log).toEqual([]);
    await s1.release();
    await s2.release();
  });
});
