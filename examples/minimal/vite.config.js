import { defineConfig } from 'vite';

// Nothing here is needed to bundle sote-webgpu: its worker and onnxruntime-web's .wasm are found from the module
// (new URL(…, import.meta.url)) and Vite emits them. Two lines are for this example:
// - publicDir serves the package's tiny demo model at /models/, where demoModelSource looks;
// - appType 'mpa': a missing file is a 404, not index.html (transformers.js, which runs the safety checker,
//   probes optional files such as tokenizer_config.json and would try to parse the page as JSON).
// Multi-threaded WASM: add COOP/COEP headers (server/preview `headers`) AND `worker: { format: 'es' }`, so that
// onnxruntime-web's thread workers load its own module rather than the whole worker bundle.
export default defineConfig({
  publicDir: 'node_modules/sote-webgpu/demo',
  appType: 'mpa',
});
