/**
 * `npm run build:lib`: the client as an installable package in dist-lib/ (then `npm pack ./dist-lib`).
 *
 * dist-lib/
 *   sote.js                 the client entry (src/client/index.ts: fal, createFalClient, installSote, …), bundled
 *   assets/                 the generator worker, onnxruntime-web's two builds (.js) with their .wasm, transformers.js;
 *                           each found from the file that uses it with new URL(…, import.meta.url) (vite.lib.config.ts)
 *   types/                  declarations (tsconfig.lib.json), entry types/src/client/index.d.ts
 *   demo/models/            the tiny demo model and its safety checker, for an app to serve at {base}models/
 *   package.json, README.md
 *
 * The declarations name three packages' types (zod: the input schema, comlink: the worker client, onnxruntime-common:
 * tensors in the protocol types), so those are the package's dependencies; the code needs nothing installed.
 */
import { execFileSync } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist-lib');

interface RootPackage {
  version: string;
  description: string;
  engines?: Record<string, string>;
  dependencies: Record<string, string>;
}

/** All files under `dir` (relative paths). */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? listFiles(dir, join(prefix, e.name)) : [join(prefix, e.name)])));
  return nested.flat();
}

/**
 * The sources import siblings as './x.ts' (allowImportingTsExtensions); in the emitted declarations those become
 * './x.js', which every TypeScript module resolution maps to './x.d.ts'.
 */
async function rewriteDeclarationImports(typesDir: string): Promise<number> {
  let files = 0;
  for (const rel of await listFiles(typesDir)) {
    if (!rel.endsWith('.d.ts')) continue;
    const path = join(typesDir, rel);
    const text = await readFile(path, 'utf8');
    const rewritten = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
    if (rewritten !== text) {
      await writeFile(path, rewritten);
      files++;
    }
  }
  return files;
}

/**
 * Vite writes the worker start of a relative-base build as `new Worker(new URL(new URL('assets/…', import.meta.url)
 * .href, '' + import.meta.url), …)`. Bundlers recognise a worker only in the plain form
 * `new Worker(new URL('<literal>', import.meta.url), …)` (Vite's worker plugin, webpack 5): in the nested form
 * the consumer's Vite copied the worker as an opaque file and never bundled its onnxruntime chunks and .wasm.
 */
async function plainWorkerUrl(entry: string): Promise<void> {
  const code = await readFile(entry, 'utf8');
  const nested = /new Worker\(new URL\(new URL\(`(assets\/generator\.worker\.js)`,import\.meta\.url\)\.href,``\+import\.meta\.url\)/g;
  const plain = code.replace(nested, "new Worker(new URL('./$1',import.meta.url)");
  if (plain === code) throw new Error(`build:lib: the worker start in ${entry} is not in the form this script rewrites (did Vite change its output?)`);
  await writeFile(entry, plain);
}

const started = performance.now();
await build({ configFile: join(root, 'vite.lib.config.ts'), root, logLevel: 'warn' });
await plainWorkerUrl(join(out, 'sote.js'));
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.lib.json')], { cwd: root, stdio: 'inherit' });
const rewritten = await rewriteDeclarationImports(join(out, 'types'));
for (const model of ['tiny-demo', 'tiny-demo-safety']) {
  await cp(join(root, 'public/models', model), join(out, 'demo/models', model), { recursive: true });
}

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as RootPackage;
const assets = (await readdir(join(out, 'assets'))).sort();
const typeDependencies = ['zod', 'comlink', 'onnxruntime-common'];
const manifest = {
  name: 'sote-webgpu',
  version: pkg.version,
  description: `${pkg.description}: the client as a library (import { fal } from 'sote-webgpu')`,
  type: 'module',
  engines: pkg.engines,
  main: './sote.js',
  module: './sote.js',
  types: './types/src/client/index.d.ts',
  exports: {
    '.': { types: './types/src/client/index.d.ts', import: './sote.js', default: './sote.js' },
    './worker': './assets/generator.worker.js',
    './ort/*': './assets/*',
    './demo/*': './demo/*',
    './package.json': './package.json',
  },
  dependencies: Object.fromEntries(typeDependencies.map((name) => [name, pkg.dependencies[name]])),
  files: ['sote.js', 'assets', 'types', 'demo', 'README.md'],
};
await writeFile(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
await writeFile(join(out, 'README.md'), `# sote-webgpu ${pkg.version}

SoteDiffusion (Stable Cascade) text-to-image on the user's own GPU (WebGPU, WASM fallback), with the hosted
\`@fal-ai/client\` surface for \`fal-ai/stable-cascade/sote-diffusion\`:

\`\`\`ts
import { fal } from 'sote-webgpu'; // was: import { fal } from '@fal-ai/client';
const { data } = await fal.subscribe('fal-ai/stable-cascade/sote-diffusion', { input: { prompt: '1girl, solo' } });
\`\`\`

The worker (\`assets/generator.worker.js\`) and onnxruntime-web's files (\`assets/*.wasm\`) are found relative to
the module, so Vite and webpack bundle them without configuration. The first request downloads SoteDiffusion V2 from
huggingface.co into the browser's storage. \`demo/models/\` holds a tiny random-weight model for trying the wiring:
serve it at \`{base}models/\` and call \`installSote(window, { modelSource: demoModelSource })\` first.
See the project README, "Use it from your app".
`);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`dist-lib: sote.js + ${assets.length} assets (${assets.join(', ')}), declarations (${rewritten} files with rewritten imports), demo model; ${seconds} s`);
