/**
 * The layer rules of ../shared/docs/architecture.md, checked by `npm test` (scripts/run-tests.mjs, one test) and
 * `npm run depcheck`. One direction, from what a person touches down to bytes:
 *
 *   src/ui → src/client → (worker, over Comlink) → src/store → src/safety → src/pipeline → src/engine
 *          → src/models → src/onnx, src/weights → src/core
 *   src/cli (Node) → src/pipeline, src/engine, src/models, src/onnx, src/weights, src/testing
 *
 * Each layer lists what it may import (itself and layers below it); anything else in src/ or workers/ is an upward
 * or sideways arrow. src/core is the leaf every layer may use (error base, PyTorch's RNG, presets, formatters).
 * The worker takes from src/client only the protocol module (the contract both sides of Comlink implement). Type-only
 * imports count. Tests (*.test.ts, e2e/) put layers together to check them and are exempt from the direction rules,
 * never from the cycle rule. There is no exceptions list: a file that breaks a rule moves, or its import does.
 */
const { builtinModules } = require('node:module');

const TEST = '\\.test\\.ts$';
/** Node's built-in modules as dependency-cruiser names them (without the `node:` prefix). */
const NODE_BUILTINS = `^(${builtinModules.filter((m) => !m.startsWith('_')).join('|')})$`;
const CODE = '^(src|workers)/';

/** A rule: product modules under `layer` import nothing in src/ or workers/ outside `allowed`. */
function layer(name, from, allowed, comment) {
  return {
    name,
    severity: 'error',
    comment,
    from: { path: from, pathNot: TEST },
    to: { path: CODE, pathNot: allowed },
  };
}

const BROWSER_ENTRIES = [
  '^src/ui/main\\.ts$',
  '^workers/generator\\.worker\\.ts$',
  '^src/client/index\\.ts$',
  '^src/offline/(sw|register)\\.ts$',
];

module.exports = {
  forbidden: [
    layer('ui', '^src/ui/', '^src/(ui|client|offline|core)/',
      'the page reaches everything below through src/client (store, pipeline and engine included)'),
    layer('public-api', '^src/client/index\\.ts$', '^src/client/',
      'the public client API exports what src/client declares, never a lower layer\'s module directly'),
    layer('client', '^src/client/', '^src/(client|store|safety|pipeline|engine|models|core)/',
      'the client is imported by the page and third parties; it never imports the page, the worker entry or the CLI'),
    layer('worker', '^workers/', '^(workers/|src/client/protocol\\.ts$|src/(store|safety|pipeline|engine|models|onnx|weights|core)/)',
      'the worker only wires: from src/client it takes the protocol (types and error transfer), nothing that starts workers'),
    layer('cli', '^src/cli/', '^src/(cli|pipeline|engine|models|onnx|weights|testing|core)/',
      'the Node CLI never loads browser-only layers (store: IndexedDB; safety: transformers.js; client, page, worker)'),
    layer('store', '^src/store/', '^src/(store|safety|pipeline|engine|models|onnx|weights|core)/',
      'the model store sits under the worker: it opens packages for the pipeline and builds them with src/models'),
    layer('safety', '^src/safety/', '^src/(safety|pipeline|engine|models|core)/',
      'the safety checker classifies what the pipeline generated; it does not know the store or the client'),
    layer('pipeline', '^src/pipeline/', '^src/(pipeline|engine|models|onnx|weights|core)/',
      'the pipeline (text-to-image, samplers, tokenizer) runs on the engine and the compiled graphs of src/models'),
    layer('engine', '^src/engine/', '^src/(engine|models|onnx|weights|core)/',
      'the engine (onnxruntime sessions, GPU tensors, memory plan) knows graphs and configs, not the pipeline'),
    layer('models', '^src/models/', '^src/(models|onnx|weights|core)/',
      'network builders (Stable Cascade stages, CLIP, ViT) use the graph builder and weight readers only'),
    layer('onnx', '^src/onnx/', '^src/(onnx|core)/', 'the ONNX graph builder knows nothing about Stable Cascade'),
    layer('weights', '^src/weights/', '^src/(weights|core)/', 'safetensors and quantization know nothing about networks'),
    layer('testing', '^src/testing/', '^src/(testing|weights|core)/', 'test support reads reference files only'),
    layer('offline', '^src/offline/', '^src/(offline|core)/', 'the service worker and its build plugin stand alone'),
    layer('core', '^src/core/', '^src/core/', 'the leaf every layer may use imports no other layer'),
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no import cycles, tests included',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-imports',
      severity: 'error',
      comment: 'product code never imports a test file',
      from: { path: CODE, pathNot: TEST },
      to: { path: TEST },
    },
    {
      name: 'no-entry-imports',
      severity: 'error',
      comment: 'the worker entry starts a worker when imported and the CLI entry runs a command: nothing imports them',
      from: {},
      to: { path: '^(workers/generator\\.worker|src/cli/main)\\.ts$' },
    },
    {
      name: 'browser-reaches-no-node',
      severity: 'error',
      comment: 'nothing the page, the worker or the service worker loads needs Node (node: built-ins, onnxruntime-node)',
      from: { path: BROWSER_ENTRIES },
      to: { reachable: true, path: [NODE_BUILTINS, '^node_modules/onnxruntime-node/'] },
    },
    {
      name: 'cli-reaches-no-browser-layer',
      severity: 'error',
      comment: 'nothing the CLI loads needs the browser-only layers (IndexedDB store, transformers.js checker, page, client)',
      from: { path: '^src/cli/main\\.ts$' },
      to: { reachable: true, path: '^(src/(ui|client|store|safety|offline)|workers)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|public)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
