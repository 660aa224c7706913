/**
 * FLOPs and bytes of one run of a graph, and roofline estimates for reference GPUs (bench:gpu).
 *
 * FLOPs and bytes come from onnxruntime-node's own profile of one CPU run of the same graph and inputs: every
 * node's input and output shapes (args.input_type_shape / output_type_shape). FLOPs count 2 per MAC of MatMul,
 * Gemm, MatMulNBits, Conv and ConvTranspose and 1 per output element of everything else; bytes are each node's
 * inputs + outputs (weights included), i.e. what a kernel-per-node GPU execution reads and writes. CPU fusions
 * differ a little from the WebGPU EP's, so both numbers are estimates.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { InMemoryModel } from '../src/onnx/serialize.ts';

export interface GraphCost {
  flops: number;
  bytes: number;
  nodes: number;
}

type TypeShape = Record<string, number[]>;
interface ProfileEvent {
  cat: string;
  name: string;
  args?: { op_name?: string; input_type_shape?: TypeShape[]; output_type_shape?: TypeShape[] };
}

const TYPE_BYTES: Record<string, number> = { float: 4, float16: 2, int64: 8, int32: 4, uint8: 1, int8: 1, bool: 1, double: 8 };
const numel = (d: number[]) => d.reduce((a, x) => a * x, 1);
const first = (t: TypeShape | undefined): number[] => (t ? Object.values(t)[0] ?? [] : []);
const bytesOf = (ts: TypeShape[] = []) => ts.reduce((a, t) => a + Object.entries(t).reduce((b, [k, d]) => b + numel(d) * (TYPE_BYTES[k] ?? 4), 0), 0);

/** FLOPs of one node from its shapes (see the file comment). */
export function nodeFlops(op: string, inputs: TypeShape[], outputs: TypeShape[]): number {
  const out = first(outputs[0]);
  const a = first(inputs[0]);
  const w = first(inputs[1]);
  switch (op) {
    case 'MatMul': case 'FusedMatMul': case 'MatMulNBits': case 'Gemm': case 'MatMulInteger':
      return 2 * numel(out) * (a[a.length - 1] ?? 0);
    case 'Conv': case 'FusedConv': case 'NhwcFusedConv':
      return 2 * numel(out) * numel(w.slice(1));
    case 'ConvTranspose':
      return 2 * numel(a) * numel(w.slice(1));
    default:
      return numel(out);
  }
}

/** Runs `model` once on onnxruntime-node with profiling and sums the cost of every node event. */
export async function graphCost(ort: OrtNode, model: InMemoryModel, feeds: Record<string, Tensor>): Promise<GraphCost> {
  const dir = await mkdtemp(join(tmpdir(), 'sote-bench-gpu-'));
  try {
    const session = await ort.InferenceSession.create(model.model, {
      externalData: model.externalData as InferenceSession.SessionOptions['externalData'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 2,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
    });
    await session.run(feeds);
    session.endProfiling();
    await session.release();
    const { readdir } = await import('node:fs/promises');
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime-node wrote no profile');
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
    const cost: GraphCost = { flops: 0, bytes: 0, nodes: 0 };
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
      cost.nodes++;
      cost.flops += nodeFlops(e.args.op_name, e.args.input_type_shape ?? [], e.args.output_type_shape ?? []);
      cost.bytes += bytesOf(e.args.input_type_shape) + bytesOf(e.args.output_type_shape);
    }
    return cost;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface OrtNode {
  InferenceSession: { create(m: Uint8Array, o: InferenceSession.SessionOptions & { profileFilePrefix?: string }): Promise<InferenceSession> };
  Tensor: new (type: Tensor.Type, data: Tensor.DataType, dims: readonly number[]) => Tensor;
}

/**
 * Reference GPUs: dense fp32 shader rate, dense fp16 tensor rate with fp32 accumulation (what a matrix extension
 * would reach), memory bandwidth. Vendor peak figures; WebGPU reaching about half of them is the bar.
 */
export const REFERENCE_GPUS = [
  { name: 'RTX 4090', shaderTflops: 82.6, tensorTflops: 165.2, bandwidthGBs: 1008 },
  { name: 'RTX 3060 12 GB', shaderTflops: 12.7, tensorTflops: 25.4, bandwidthGBs: 360 },
  { name: 'Apple M2 (10-core GPU)', shaderTflops: 3.6, tensorTflops: 3.6, bandwidthGBs: 100 },
] as const;
export const EFFICIENCY = 0.5;

/** Roofline time (ms) of a graph at half the shader rate / half the tensor rate, bounded below by the bytes. */
export function rooflineMs(cost: Pick<GraphCost, 'flops' | 'bytes'>, gpu: (typeof REFERENCE_GPUS)[number]): { shaderMs: number; tensorMs: number; memoryMs: number } {
  const memoryMs = (cost.bytes / (gpu.bandwidthGBs * 1e9)) * 1e3;
  const at = (tflops: number) => Math.max((cost.flops / (tflops * EFFICIENCY * 1e12)) * 1e3, memoryMs);
  return { shaderMs: at(gpu.shaderTflops), tensorMs: at(gpu.tensorTflops), memoryMs };
}

/**
 * A fal-default image (1024×1536; Stage C 25 steps with CFG, Stage B 10 steps with CFG 2, Stage A decode, CLIP):
 * ≈ 507 TFLOP of the released models (stable-cascade-spec §9.2: 25·2·6.18 + 10·2·9.72 + 3.26 + 0.2).
 */
export const FAL_DEFAULT_IMAGE_TFLOP = 25 * 2 * 6.18 + 10 * 2 * 9.72 + 3.26 + 0.2;
