/**
 * The Stage C/B step graphs keep the forms the WebGPU kernel counts rely on (README "Performance: the GPU path";
 * `npm run bench:gpu` measures the kernels): GELU is one Gelu/BiasGelu node (no Erf chain); GRN's β is folded into
 * the next Linear's bias; TimestepBlock mappers run as one matmul + Split per up to three blocks, shared by the
 * repeat passes, with at most 6 Split outputs (WebGPU guarantees 8 storage buffers per shader stage); the
 * r-embedding has no trig and no Round; attention scores go to Softmax unscaled (1/√d is folded into q).
 * The numbers themselves are checked by the golden tests (stage-c, stage-b, quantized, split-conditioning).
 */
import { describe, expect, it } from 'vitest';
import type { NodeDef } from '../onnx/graph.ts';
import type { UNetKwargs } from './cascade-config.ts';
import { DEMO_COMPONENTS } from './demo-model.ts';
import { buildModel } from './registry.ts';

function uniqueTimestepBlocks(k: UNetKwargs): number {
  let n = 0;
  for (const side of [0, 1] as const) {
    k.blocks[side].forEach((layers, j) => {
      const level = side === 0 ? j : k.c_hidden.length - 1 - j;
      n += layers * [...k.level_config[level]].filter((t) => t === 'T').length;
    });
  }
  return n;
}

describe('Stage C/B step graphs: fused forms', () => {
  for (const model of DEMO_COMPONENTS) {
    if (model.kind !== 'stage_c' && model.kind !== 'stage_b') continue;
    for (const precision of ['fp32', 'int4'] as const) {
      it(`${model.kind} ${precision}`, () => {
        const ctx = buildModel(model, { precision, part: 'step' });
        const nodes = ctx.g.nodes;
        const producer = new Map<string, NodeDef>();
        for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
        const ops = new Set(nodes.map((n) => n.opType));
        for (const op of ['Erf', 'Sin', 'Cos', 'Round', 'Tanh']) expect(ops.has(op), op).toBe(false);

        const grn = nodes.filter((n) => n.opType === 'ReduceL2');
        expect(grn.length).toBeGreaterThan(0);
        for (const r of grn) expect(producer.get(r.inputs[0])?.opType, `${r.name} input`).toBe('BiasGelu');
        expect(ctx.g.weights.filter((w) => w.name.endsWith('.channelwise.2.beta'))).toEqual([]);

        const splits = nodes.filter((n) => n.opType === 'Split');
        for (const s of splits) expect(s.outputs.length, s.name).toBeLessThanOrEqual(6);
        expect(splits.length).toBe(Math.ceil(uniqueTimestepBlocks(model.config.kwargs) / 3));

        const softmax = nodes.filter((n) => n.opType === 'Softmax');
        expect(softmax.length).toBeGreaterThan(0);
        for (const s of softmax) expect(producer.get(s.inputs[0])?.opType, s.name).toBe('MatMul');
      });
    }
  }
});
