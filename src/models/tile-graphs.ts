/**
 * Weightless graphs for tiled decoding: cut a spatial window out of an NCHW tensor and glue tiles back
 * together. They run on the same execution provider as the networks, so tiles never leave the device
 * (on WebGPU a tile is a GPU buffer from slice to assembly; nothing is read back).
 */
import { Graph } from '../onnx/graph.ts';

/**
 * x [B,C,H,W] float32 → x[:, :, y0:y1, x0:x1]. Inputs: starts [2] int64 = (y0, x0), ends [2] int64 = (y1, x1).
 * One graph serves every window (the bounds are inputs, not constants), so it is compiled once.
 */
export function buildSpatialSliceGraph(): Graph {
  const g = new Graph('spatial_slice');
  const x = g.input('x', 'float32', ['B', 'C', 'H', 'W']);
  const starts = g.input('starts', 'int64', [2]);
  const ends = g.input('ends', 'int64', [2]);
  g.output(g.node('Slice', [x, starts, ends, g.i64([2, 3])]), 'y', 'float32', ['B', 'C', 'Hs', 'Ws']);
  return g;
}

/**
 * Concat of `count` NCHW float32 tensors t0 … t{count−1} along H (axis 2) or W (axis 3). ONNX graphs have a
 * fixed number of inputs, so there is one graph per (count, axis); a decode needs at most two of them.
 */
export function buildSpatialConcatGraph(count: number, axis: 2 | 3): Graph {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`concat needs at least one input (got ${count})`);
  const g = new Graph(`spatial_concat_${count}_axis${axis}`);
  const inputs = Array.from({ length: count }, (_, i) =>
    g.input(`t${i}`, 'float32', ['B', 'C', axis === 2 ? `H${i}` : 'H', axis === 3 ? `W${i}` : 'W']));
  // Concat of a single input is a copy; ORT accepts it, which keeps the one-tile-per-row case uniform.
  g.output(g.node('Concat', inputs, { axis }), 'y', 'float32', ['B', 'C', 'Hc', 'Wc']);
  return g;
}

/**
 * x [B,D] float32 → [B,1,D]. onnxruntime-web refuses Tensor.reshape on a tensor that owns a GPU buffer, so a
 * device-resident reshape (the pooled text embedding Stage C/B take as [B,1,D]) runs as this graph instead.
 */
export function buildInsertAxis1Graph(): Graph {
  const g = new Graph('insert_axis_1');
  const x = g.input('x', 'float32', ['B', 'D']);
  g.output(g.node('Unsqueeze', [x, g.i64([1])]), 'y', 'float32', ['B', 1, 'D']);
  return g;
}
