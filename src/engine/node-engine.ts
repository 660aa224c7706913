/**
 * Node-only: an OrtEngine over onnxruntime-node (native CPU) or onnxruntime-web's WASM build running inside
 * Node — the engine the CLI commands (sample, generate, bench) use, so they drive exactly the pipeline code the
 * browser worker runs.
 *
 * Invariant: onnxruntime-web initialises its WASM runtime once per process with the thread count set before the
 * first session; later changes are ignored. We always use one WASM thread (multi-threaded WASM in Node needs
 * worker_threads and a file URL for the glue), which also keeps results deterministic.
 */
import { OrtEngine, type OrtModule } from './ort-engine.ts';

export type NodeEngineBackend = 'node' | 'wasm';

export const NODE_ENGINE_BACKENDS: readonly NodeEngineBackend[] = ['node', 'wasm'];

/** The onnxruntime module of a backend, with onnxruntime-web set to one WASM thread. */
export async function loadOrtModule(backend: NodeEngineBackend): Promise<OrtModule> {
  if (backend === 'node') return (await import('onnxruntime-node')) as unknown as OrtModule;
  const ort = (await import('onnxruntime-web')) as unknown as OrtModule & { env: { wasm: { numThreads: number } } };
  ort.env.wasm.numThreads = 1;
  return ort;
}

export async function createNodeEngine(backend: NodeEngineBackend): Promise<OrtEngine> {
  return new OrtEngine(await loadOrtModule(backend), backend);
}
