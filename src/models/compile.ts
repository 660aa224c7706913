/** Binds a built graph to a checkpoint and serializes it with all weights in memory (small models only). */
import { serializeToMemory, type InMemoryModel, type SerializeOptions } from '../onnx/serialize.ts';
import type { ModelContext } from './model-context.ts';
import type { WeightSource } from './weight-source.ts';

export async function compileInMemory(ctx: ModelContext, source: WeightSource, options?: SerializeOptions): Promise<InMemoryModel> {
  ctx.bind(source);
  return serializeToMemory(ctx.g, options);
}
