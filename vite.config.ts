import { defineConfig } from 'vitest/config';
import { offlineServiceWorker } from './src/offline/vite-plugin.ts';

/**
 * COOP/COEP on every server (dev, preview) so the page is cross-origin isolated: onnxruntime-web's WASM backend
 * only gets more than one thread with SharedArrayBuffer, which needs isolation. Builds get them too: the offline
 * plugin (src/offline/vite-plugin.ts) writes dist/_headers (Netlify / Cloudflare Pages format) for static hosting
 * and dist/sw.js, a service worker that precaches the build and adds these headers to everything it serves, so a
 * page reloaded offline is still isolated. It runs in `vite build` only; the dev server has no service worker.
 */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  plugins: [offlineServiceWorker({ headers: isolationHeaders })],
  worker: { format: 'es' },
  // transformers.js is imported lazily (only when a safety check runs); listing it here pre-bundles it at
  // start-up, otherwise the dev server discovers it mid-generation and reloads the page, killing the worker.
  // No SPA fallback: a missing file must be a 404, not index.html with status 200 (transformers.js probes
  // optional files such as processor_config.json and would try to parse the page as JSON).
  appType: 'mpa',
  optimizeDeps: { exclude: ['onnxruntime-web'], include: ['@huggingface/transformers'] },
  test: {
    // `golden`: the test reads ../shared/golden (src/testing/golden.ts needsGolden); skipped when a file is missing.
    tags: [{ name: 'golden', description: 'reads reference files from ../shared/golden (SOTE_GOLDEN_DIR)' }],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
