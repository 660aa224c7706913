/**
 * What a graph builder reads weights from: tensors by their official (Stability / Hugging Face) names, each
 * readable on demand as float32. Checkpoints in other namings are adapted to this view (checkpoint-names.ts).
 */
export interface SourceTensor {
  readonly shape: readonly number[];
  read(): Promise<Float32Array>;
}

export interface WeightSource {
  /** For error messages: the file names behind this source. */
  readonly description: string;
  get(name: string): SourceTensor | undefined;
  names(): Iterable<string>;
}

/** In-memory source (tests, derived weights). */
export function mapWeightSource(description: string, tensors: Map<string, { shape: number[]; data: Float32Array }>): WeightSource {
  return {
    description,
    get: (name) => {
      const t = tensors.get(name);
      return t && { shape: t.shape, read: async () => t.data };
    },
    names: () => tensors.keys(),
  };
}
