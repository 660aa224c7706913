import { describe, expect, it } from 'vitest';
import { createNodeRunner } from '../engine/node-runner.ts';
import { Graph } from './graph.ts';
import { planChunks, serializeGraph, serializeToMemory } from './serialize.ts';

function tinyGraph(): Graph {
  const g = new Graph('tiny');
  const x = g.input('x', 'float32', ['B', 3]);
  const w = g.weight('w', 'float32', [3, 2], async () => new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
  const b = g.weight('b', 'float32', [2], async () => new Uint8Array(new Float32Array([0.5, -0.5]).buffer));
  const y = g.node('Add', [g.node('MatMul', [x, w]), b]);
  g.output(y, 'y', 'float32', ['B', 2]);
  return g;
}

describe('ONNX serialization', () => {
  for (const backend of ['node', 'wasm'] as const) {
    it(`runs a graph with external data on ${backend}`, async () => {
      const runner = await createNodeRunner(await serializeToMemory(tinyGraph()), backend);
      const out = await runner.run({ x: { dtype: 'float32', dims: [2, 3], data: new Float32Array([1, 0, 0, 1, 1, 1]) } });
      expect([...(out.y.data as Float32Array)]).toEqual([1.5, 1.5, 9.5, 11.5]);
      await runner.release();
    });
  }

  it('gives identical bytes for identical graphs', async () => {
    const a = await serializeToMemory(tinyGraph());
    const b = await serializeToMemory(tinyGraph());
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(a.externalData.map((e) => e.data.byteLength)).toEqual(b.externalData.map((e) => e.data.byteLength));
  });

  it('plans 64-byte-aligned chunks, never splitting a tensor, oversize tensors alone', () => {
    const w = (name: string, n: number) => ({ name, dtype: 'float32' as const, dims: [n], bytes: async () => new Uint8Array(n * 4) });
    const plan = planChunks([w('a', 10), w('b', 20), w('c', 300), w('d', 5)], 'm.data', 256);
    expect(plan.map((c) => c.entries.map((e) => [e.weight.name, e.offset]))).toEqual([
      [['a', 0], ['b', 64]],
      [['c', 0]],
      [['d', 0]],
    ]);
    expect(plan.every((c) => c.entries.every((e) => e.offset % 64 === 0))).toBe(true);
    expect(serializeGraph(tinyGraph()).chunks.map((c) => c.path)).toEqual(['tiny.data.0']);
  });
});
