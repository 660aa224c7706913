/**
 * Builds one network's graph while recording which checkpoint tensors it needs.
 *
 * Building never touches weight bytes: every initializer is a recipe (which checkpoint tensors, how to turn them
 * into the initializer: transpose, split, fold, convert, quantize). `bind()` checks a checkpoint against the
 * recorded expectations — all missing, unexpected and mis-shaped tensors in one error — and only serialization
 * runs the recipes, one weight at a time, so a multi-GB checkpoint is streamed, never held whole.
 */
import { Graph, type DType } from '../onnx/graph.ts';
import { dequantizeBlockwise, float32Bytes, quantizeBlockwise, toFloat16Bytes, transpose2d } from '../weights/quantize.ts';
import { WeightMismatchError } from './errors.ts';
import type { WeightSource } from './weight-source.ts';

export type Precision = 'fp32' | 'fp16' | 'int8' | 'int4';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8', 'int4'];

/** Block size of MatMulNBits quantization; 32 divides every hidden width of the released models. */
export const QUANT_BLOCK_SIZE = 32;

export interface BuildOptions {
  precision?: Precision;
  /**
   * Tensors the graph treats as known and which therefore must not be required (e.g. the EfficientNet encoder
   * or the VQ codebook of Stage A, which text-to-image never uses). Matched by prefix.
   */
  ignoredPrefixes?: string[];
  /**
   * The graph is one part of a network (a split build): the checkpoint holds the other part's tensors too, so
   * only missing and mis-shaped tensors are errors. Validate the whole checkpoint against a full build.
   */
  partial?: boolean;
  /**
   * Stage C/B: the 32-entry r-embedding frequency table instead of the float64-exp one (cascade-blocks.ts), e.g.
   * golden rng_torch_cpu's r_freqs.avx2 to match a PyTorch run on AVX2 kernels, which rounds 3 entries differently.
   */
  rFrequencies?: Float32Array;
}

/**
 * A linear layer's weight: checkpoint tensor `name` [out, in] (or [out, in, 1, 1]), rows from `rowOffset`; or
 * several whole checkpoint weights stacked along `out` (`stacked`: several layers on one input as one matmul).
 */
export type LinearWeight =
  | {
      name: string;
      shape: readonly number[];
      rowOffset?: number;
      /** A constant factor folded into the weight (attention's 1/√d into q). */
      scale?: number;
    }
  | { stacked: readonly { name: string; shape: readonly number[] }[] };

/** A checkpoint bias (a slice from `offset`, times `scale`), or an initializer the caller derived. */
export type LinearBias = { name: string; shape: readonly number[]; offset?: number; scale?: number } | { initializer: string };

export interface LinearOptions {
  /**
   * A tensor with the output's shape (e.g. the residual it is added to): the output is reshaped to it, which
   * lets fp32 builds use one Gemm on [rows, in].
   */
  outShapeOf?: string;
  /** GELU (exact erf form) after the bias, fused with it into com.microsoft BiasGelu. */
  activation?: 'gelu';
}

function scaled(t: Float32Array, factor: number): Float32Array {
  return factor === 1 ? t : t.map((v) => v * factor);
}

export class ModelContext {
  readonly g: Graph;
  readonly precision: Precision;
  /** Checkpoint tensor name → expected shape. */
  readonly expected = new Map<string, readonly number[]>();
  readonly ignoredPrefixes: string[];
  readonly partial: boolean;
  readonly rFrequencies?: Float32Array;
  private source?: WeightSource;
  private lastRead?: { name: string; data: Promise<Float32Array> };
  private readonly defined = new Set<string>();
  /** Checkpoint tensors stored block-quantized (int8/int4); everything else keeps float precision. */
  readonly quantizedSources = new Set<string>();

  constructor(name: string, options: BuildOptions = {}) {
    this.g = new Graph(name);
    this.precision = options.precision ?? 'fp32';
    this.ignoredPrefixes = options.ignoredPrefixes ?? [];
    this.partial = options.partial ?? false;
    this.rFrequencies = options.rFrequencies;
  }

  /** Declares that the checkpoint must hold `name` with `shape`. */
  expect(name: string, shape: readonly number[]): void {
    const prev = this.expected.get(name);
    if (prev && prev.join(',') !== shape.join(',')) {
      throw new Error(`internal: ${name} declared with shapes [${prev}] and [${shape}]`);
    }
    this.expected.set(name, shape);
  }

  /**
   * Reads a checkpoint tensor as float32. Consecutive reads of the same tensor (q, k, v split from one
   * in_proj_weight) share one read.
   */
  read(name: string): Promise<Float32Array> {
    if (this.lastRead?.name === name) return this.lastRead.data;
    const src = this.source;
    if (!src) throw new Error(`graph ${this.g.name}: weights are not bound (call bind() before serializing)`);
    const t = src.get(name);
    if (!t) throw new Error(`${src.description}: tensor ${name} vanished after binding`);
    const data = t.read();
    this.lastRead = { name, data };
    return data;
  }

  /**
   * A float initializer computed from checkpoint tensors. `dtype` float16 converts at write time; compute
   * always sees float32.
   */
  derived(
    graphName: string,
    dims: number[],
    sources: [string, readonly number[]][],
    compute: (...inputs: Float32Array[]) => Float32Array,
    dtype: 'float32' | 'float16' = 'float32',
  ): string {
    // Repeated passes of a level (block_repeat) reuse the same weights: one initializer, many uses.
    if (this.defined.has(graphName)) return graphName;
    this.defined.add(graphName);
    for (const [n, s] of sources) this.expect(n, s);
    return this.g.weight(graphName, dtype, dims, async () => {
      const inputs: Float32Array[] = [];
      for (const [n] of sources) inputs.push(await this.read(n));
      const out = compute(...inputs);
      const numel = dims.reduce((a, d) => a * d, 1);
      if (out.length !== numel) throw new Error(`internal: ${graphName} computed ${out.length} values for dims [${dims}]`);
      return dtype === 'float16' ? toFloat16Bytes(out) : float32Bytes(out);
    });
  }

  /** A checkpoint tensor copied as-is (float32), possibly with a different graph shape. */
  param(name: string, shape: readonly number[], dims: number[] = [...shape], dtype: 'float32' | 'float16' = 'float32'): string {
    return this.derived(name, dims, [[name, shape]], (x) => x, dtype);
  }

  /** Fails with one WeightMismatchError listing everything that does not fit; then weights can be written. */
  bind(source: WeightSource): void {
    const missing: string[] = [];
    const shapeMismatches: { name: string; expected: readonly number[]; actual: readonly number[] }[] = [];
    for (const [name, shape] of this.expected) {
      const t = source.get(name);
      if (!t) missing.push(name);
      else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        shapeMismatches.push({ name, expected: shape, actual: t.shape });
      }
    }
    const unexpected = this.partial
      ? []
      : [...source.names()].filter((n) => !this.expected.has(n) && !this.ignoredPrefixes.some((p) => n.startsWith(p)));
    if (missing.length || unexpected.length || shapeMismatches.length) {
      throw new WeightMismatchError(source.description, missing.sort(), unexpected.sort(), shapeMismatches);
    }
    this.source = source;
  }

  /** Total parameters the graph takes from the checkpoint (the official parameter count). */
  parameterCount(): number {
    let n = 0;
    for (const shape of this.expected.values()) n += shape.reduce((a, d) => a * d, 1);
    return n;
  }

  // ---- precision-aware primitives -------------------------------------------------------------------------

  /**
   * y = x·Wᵀ + b over the last axis, for a PyTorch Linear `prefix` (weight [out, in], bias [out]); also takes a
   * 1×1 conv (weight [out, in, 1, 1]) via `weightShape`. x: [..., in] float32 → [..., out] float32.
   */
  linear(x: string, prefix: string, inF: number, outF: number, bias = true, weightShape: readonly number[] = [outF, inF], options: LinearOptions = {}): string {
    return this.linearFrom(x, prefix, { name: `${prefix}.weight`, shape: weightShape }, bias ? { name: `${prefix}.bias`, shape: [outF] } : undefined, inF, outF, options);
  }

  /**
   * The general form of `linear`: the weight may be rows [rowOffset, rowOffset+outF) of a bigger checkpoint
   * tensor (q/k/v thirds of nn.MultiheadAttention's in_proj_weight), likewise the bias, and either may carry a
   * constant factor; the bias may also be an initializer the caller derived (a bias folded through this layer).
   * The weight takes the chosen precision; the bias add and the output stay float32 so the residual stream
   * never leaves fp32.
   *
   * Kernels: int builds add the bias inside MatMulNBits (one kernel at any rank). fp32 builds run a 2-D input,
   * or any input when `outShapeOf` names a tensor of the output's shape, as one Gemm on [rows, in] (the
   * Reshapes around it dispatch nothing); otherwise MatMul + Add (onnxruntime fuses N-D MatMul + Add only for
   * static shapes). `activation: 'gelu'` ends in com.microsoft BiasGelu, which takes the bias add with it.
   */
  linearFrom(
    x: string,
    graphPrefix: string,
    w: LinearWeight,
    b: LinearBias | undefined,
    inF: number,
    outF: number,
    options: LinearOptions = {},
  ): string {
    const g = this.g;
    const bias = b && ('initializer' in b ? b.initializer : this.linearBias(graphPrefix, b, outF));
    const gelu = options.activation === 'gelu';
    if (gelu && !bias) throw new Error(`internal: ${graphPrefix}: a GELU linear needs a bias (BiasGelu)`);
    const sources: [string, readonly number[]][] = 'stacked' in w ? w.stacked.map((p) => [p.name, p.shape]) : [[w.name, w.shape]];
    const wOff = 'stacked' in w ? 0 : (w.rowOffset ?? 0) * inF;
    const wScale = 'stacked' in w ? 1 : (w.scale ?? 1);
    // The [outF, inF] rows this layer uses, from its source tensors.
    const rows = (...ts: Float32Array[]): Float32Array => {
      if (ts.length > 1) {
        const out = new Float32Array(outF * inF);
        let at = 0;
        for (const t of ts) { out.set(t, at); at += t.length; }
        if (at !== outF * inF) throw new Error(`internal: ${graphPrefix}: stacked weights hold ${at} values, ${outF}×${inF} expected`);
        return out;
      }
      const t = ts[0];
      return wOff === 0 && t.length === outF * inF ? t : t.subarray(wOff, wOff + outF * inF);
    };
    let y: string;
    if (this.precision === 'fp32' || this.precision === 'fp16') {
      const dtype = this.precision === 'fp16' ? 'float16' : 'float32';
      const wt = this.derived(`${graphPrefix}.weight_t`, [inF, outF], sources, (...ts) => scaled(transpose2d(rows(...ts), outF, inF), wScale), dtype);
      if (dtype === 'float16') {
        y = g.node('Cast', [g.node('MatMul', [g.node('Cast', [x], { to: 10 }), wt])], { to: 1 });
      } else if (bias && !gelu && options.outShapeOf) {
        const y2 = g.node('Gemm', [g.node('Reshape', [x, g.i64([-1, inF])]), wt, bias]);
        return g.node('Reshape', [y2, g.node('Shape', [options.outShapeOf])]);
      } else {
        y = g.node('MatMul', [x, wt]);
      }
    } else {
      const bits = this.precision === 'int8' ? 8 : 4;
      const nBlocks = Math.ceil(inF / QUANT_BLOCK_SIZE);
      const packedName = `${graphPrefix}.weight_q${bits}`;
      const scalesName = `${graphPrefix}.weight_scales`;
      const attrs = { K: inF, N: outF, bits, block_size: QUANT_BLOCK_SIZE };
      let cached: Promise<ReturnType<typeof quantizeBlockwise>> | undefined;
      // One quantization pass feeds both initializers (written consecutively: packed, then scales). A constant
      // factor goes into the scales, so the codes are the unscaled weight's (quantized.test compares them).
      const readAll = async () => {
        const ts: Float32Array[] = [];
        for (const [n] of sources) ts.push(await this.read(n));
        return rows(...ts);
      };
      const quantized = () => (cached ??= readAll().then((t) => quantizeBlockwise(t, outF, inF, bits, QUANT_BLOCK_SIZE)));
      if (!this.defined.has(packedName)) {
        this.defined.add(packedName);
        for (const [n, shape] of sources) {
          this.expect(n, shape);
          this.quantizedSources.add(n);
        }
        g.weight(packedName, 'uint8', [outF, nBlocks, (QUANT_BLOCK_SIZE * bits) / 8], async () => (await quantized()).packed);
        g.weight(scalesName, 'float32', [outF * nBlocks], async () => {
          const s = (await quantized()).scales;
          cached = undefined;
          return float32Bytes(scaled(s, wScale));
        });
      }
      const inputs = [x, packedName, scalesName];
      if (bias && !gelu) inputs.push('', '', bias);
      y = g.node('MatMulNBits', inputs, attrs, { domain: 'com.microsoft' });
      if (!gelu) return options.outShapeOf ? g.node('Reshape', [y, g.node('Shape', [options.outShapeOf])]) : y;
    }
    if (bias) y = gelu ? g.node('BiasGelu', [y, bias], {}, { domain: 'com.microsoft' }) : g.node('Add', [y, bias]);
    return options.outShapeOf ? g.node('Reshape', [y, g.node('Shape', [options.outShapeOf])]) : y;
  }

  private linearBias(graphPrefix: string, b: { name: string; shape: readonly number[]; offset?: number; scale?: number }, outF: number): string {
    const bOff = b.offset ?? 0;
    return this.derived(`${graphPrefix}.bias`, [outF], [[b.name, b.shape]], (t) => scaled(bOff === 0 && t.length === outF ? t : t.slice(bOff, bOff + outF), b.scale ?? 1));
  }

  /**
   * The weight [outF, inF] a linear layer of this build multiplies by, from its float32 checkpoint rows: the
   * dequantized blocks in int8/int4 builds, the rows themselves otherwise. A bias folded through the layer
   * (b' = b + W·β) uses it, so a folded graph computes what the unfolded one does with the stored weights.
   */
  effectiveLinearWeight(rows: Float32Array, outF: number, inF: number): Float32Array {
    if (this.precision !== 'int8' && this.precision !== 'int4') return rows;
    const bits = this.precision === 'int8' ? 8 : 4;
    return dequantizeBlockwise(quantizeBlockwise(rows, outF, inF, bits, QUANT_BLOCK_SIZE), outF, inF, bits, QUANT_BLOCK_SIZE);
  }

  /**
   * Big conv weights are fp16 in fp16 builds; small ones, and every conv of int8/int4 builds, stay fp32. int8/int4
   * are what GPUs without shader-f16 run (engine/placement.ts), and an fp16 tensor needs shader-f16 on WebGPU.
   */
  convWeightDtype(numel: number): 'float32' | 'float16' {
    return this.precision === 'fp16' && numel >= 65536 ? 'float16' : 'float32';
  }
}
