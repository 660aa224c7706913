/**
 * A one-graph runner for Node tests and the CLI: host tensors in, host tensors out, on onnxruntime-node (native
 * CPU) or onnxruntime-web's WASM build inside Node. It is a thin layer over the same OrtEngine the pipeline and
 * the browser worker use (node-engine.ts loads the module), so a Node test of the WASM path exercises the same
 * session options and kernels the page falls back to.
 */
import type { InMemoryModel } from '../onnx/serialize.ts';
import { createNodeEngine, type NodeEngineBackend } from './node-engine.ts';
import type { HostTensor, ModelRunner } from './tensor.ts';

export type NodeBackend = NodeEngineBackend;

export async function createNodeRunner(model: InMemoryModel, backend: NodeBackend = 'node'): Promise<ModelRunner> {
  const engine = await createNodeEngine(backend);
  const session = await engine.createSession({ model: model.model, externalData: model.externalData.map((e) => ({ path: e.path, data: e.data })) });
  return {
    backend,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, engine.tensor(t)])));
      const result: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(out)) result[name] = await engine.read(t);
      return result;
    },
    release: () => session.release(),
  };
}
