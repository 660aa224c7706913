/** Types of the gpu-graphs page API (e2e/pages/gpu-graphs.ts), shared with its Node-side callers. */
import type { GpuCounters } from './gpu-counters.ts';
import type { AnyModelConfig } from '../../src/models/registry.ts';
import type { Precision } from '../../src/models/model-context.ts';

/** Symbolic dimension → size, for every graph input of a case (B, h, w, S, …). */
export type DimSizes = Record<string, number>;

export interface PlacementLine {
  ep: string;
  nodes: number;
  /** The log lines that follow (onnxruntime lists each node as "OpType (name)" at VERBOSE). */
  detail: string[];
}

export interface GraphReport {
  /** e.g. "stage_c step", "sampler ddpm guided". */
  graph: string;
  /** Nodes in the ONNX file we wrote (before onnxruntime's fusions). */
  modelNodes: number;
  /** Placement after onnxruntime's graph optimisation, per EP. */
  placement: PlacementLine[];
  cpuNodes: number;
  /** One steady-state run (the second). */
  run: GpuCounters;
  /** Bytes of the CPU-fed inputs of one run (the per-step scalars and ids). */
  cpuFeedBytes: number;
  sessionMs: number;
  /** Wall time of run() on the page (submission; a software adapter makes it meaningless as GPU time). */
  runMs: number;
}

export interface NetworkCase {
  model: AnyModelConfig;
  precision: Precision;
  dims: DimSizes;
  fusedAttention?: boolean;
  /** The WebGPU EP's layout for layout-sensitive ops (Conv, Resize, …); the EP's default when absent. */
  preferredLayout?: 'NCHW' | 'NHWC';
}

/** What gpu-graphs.ts puts on the page's globalThis (typed here so Node-side callers need no DOM types). */
export interface GpuGraphsApi {
  gpuGraphsReady?: boolean;
  adapterFeatures?: () => Promise<string[]>;
  profileNetwork?: (c: NetworkCase) => Promise<GraphReport[]>;
  profileWeightless?: (dims: DimSizes) => Promise<GraphReport[]>;
}

