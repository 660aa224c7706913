/**
 * Node-only session creation: onnxruntime-node (native CPU) or onnxruntime-web's WASM build running inside
 * Node. Both load the same model bytes and external-data chunks the browser uses, so a Node test of the WASM
 * path exercises the same kernels the page falls back to.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { InMemoryModel } from '../onnx/serialize.ts';
import type { HostTensor, ModelRunner } from './tensor.ts';

export type NodeBackend = 'node' | 'wasm';

type Ort = typeof import('onnxruntime-node');

async function loadOrt(backend: NodeBackend): Promise<Ort> {
  if (backend === 'node') return import('onnxruntime-node');
  const ort = (await import('onnxruntime-web')) as unknown as Ort & { env: { wasm: { numThreads: number } } };
  // Threads in Node need worker_threads + a file URL for the wasm glue; one thread keeps results
  // deterministic and start-up simple for tests and the CLI.
  ort.env.wasm.numThreads = 1;
  return ort;
}

export async function createNodeRunner(model: InMemoryModel, backend: NodeBackend = 'node'): Promise<ModelRunner> {
  const ort = await loadOrt(backend);
  const session: InferenceSession = await ort.InferenceSession.create(model.model, {
    executionProviders: [backend === 'node' ? 'cpu' : 'wasm'],
    externalData: model.externalData.map((e) => ({ path: e.path, data: e.data })),
    graphOptimizationLevel: 'all',
  });
  return {
    backend,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype, t.data, t.dims) as unknown as Tensor;
      const out = await session.run(ortFeeds);
      const result: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = { dtype: t.type as HostTensor['dtype'], dims: [...t.dims], data: t.data as HostTensor['data'] };
      }
      return result;
    },
    release: () => session.release(),
  };
}
