import { defineConfig } from 'vite';

/**
 * `npm run build:lib`: the client as a library other web apps install (scripts/build-lib.ts runs this build,
 * then writes the declarations and the package.json into dist-lib/). ES modules only:
 * - `sote.js` is src/client/index.ts (`fal`, `createFalClient`, …) with its dependencies bundled;
 * - the generator worker is emitted as its own file and started with `new URL(…, import.meta.url)`, and
 *   onnxruntime-web's .wasm (and the .mjs it loads into its own workers) are emitted next to it, referenced the
 *   same way, so they are found relative to the module wherever the consumer's bundler puts it;
 * - assets are files, never inlined (a base64 copy of a 20 MB .wasm in JS would be parsed on every page load).
 */
export default defineConfig({
  // Relative URLs: every file is found from the module that references it (new URL(…, import.meta.url)).
  base: './',
  publicDir: false,
  // Stable names (no hashes): package.json's exports name the worker and onnxruntime-web's files; the package
  // version is the cache key.
  worker: { format: 'es', rollupOptions: { output: { entryFileNames: 'assets/[name].js', chunkFileNames: 'assets/[name].js', assetFileNames: 'assets/[name][extname]' } } },
  build: {
    outDir: 'dist-lib',
    emptyOutDir: true,
    target: 'es2022',
    // Not `build.lib`: library mode inlines every asset as base64, whatever assetsInlineLimit says. An app
    // build with the client as its only input, keeping the entry's exports, is a library that keeps its files.
    assetsInlineLimit: 0,
    sourcemap: false,
    copyPublicDir: false,
    modulePreload: false,
    rollupOptions: {
      input: { sote: 'src/client/index.ts' },
      preserveEntrySignatures: 'strict',
      output: { entryFileNames: '[name].js', chunkFileNames: 'assets/[name].js', assetFileNames: 'assets/[name][extname]' },
    },
  },
});
