/**
 * `forward`: one forward pass of any network from its config + weights, on inputs named as in the golden files,
 * written as safetensors. The way to check a checkpoint or a config against PyTorch outside the test suite.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createNodeRunner } from '../../engine/node-runner.ts';
import type { HostTensor } from '../../engine/tensor.ts';
import { checkpointSource } from '../../models/checkpoint-source.ts';
import { compileInMemory } from '../../models/compile.ts';
import { PRECISIONS } from '../../models/model-context.ts';
import { buildModel, MODEL_IO, parseModelConfig } from '../../models/registry.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { SafetensorsFile } from '../../weights/safetensors.ts';
import { encodeSafetensors, type TensorToWrite } from '../../weights/safetensors-writer.ts';
import { oneOf, parseCli, required, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE =
  'npm run cli -- forward --config C.json --weights W.safetensors [--weights W2.safetensors …] --inputs I.safetensors ' +
  '[--prefix P] --out O.safetensors [--backend node|wasm] [--precision fp32|fp16|int8|int4] [--fused-attention]';

export const command: CliCommand = {
  summary: 'run one forward pass of a Stage C/B/A or CLIP graph on inputs from a safetensors file',
  async run(argv) {
    const { values } = parseCli(argv, {
      config: { type: 'string' },
      weights: { type: 'string', multiple: true },
      inputs: { type: 'string' },
      prefix: { type: 'string', default: '' },
      out: { type: 'string' },
      backend: { type: 'string' },
      precision: { type: 'string' },
      'fused-attention': { type: 'boolean', default: false },
    }, USAGE);
    const model = parseModelConfig(JSON.parse(await readFile(required(values.config, '--config', USAGE), 'utf8')));
    if (!values.weights?.length) throw new UsageError('missing --weights', USAGE);
    const backend = oneOf(values.backend, ['node', 'wasm'] as const, '--backend', 'node', USAGE);
    const precision = oneOf(values.precision, PRECISIONS, '--precision', 'fp32', USAGE);
    const inputs = await SafetensorsFile.open(fileSource(required(values.inputs, '--inputs', USAGE)));
    const outPath = required(values.out, '--out', USAGE);
    const prefix = values.prefix ?? '';
    const io = MODEL_IO[model.kind];

    const has = (n: string) => inputs.has(prefix + n);
    const missing = io.required.filter((n) => !has(n));
    if (missing.length) throw new Error(`${inputs.name} lacks required input(s) ${missing.map((n) => prefix + n).join(', ')} for ${model.kind}`);
    const conditionInputs = io.optional.some((o) => has(o.name));

    const ctx = buildModel(model, { precision, conditionInputs, fusedAttention: values['fused-attention'] });
    const files = await Promise.all(values.weights.map((p) => SafetensorsFile.open(fileSource(p))));
    const runner = await createNodeRunner(await compileInMemory(ctx, checkpointSource(files, model.kind)), backend);

    const feeds: Record<string, HostTensor> = {};
    const shapes: Record<string, readonly number[]> = {};
    for (const name of io.required) {
      const info = inputs.info(prefix + name);
      shapes[name] = info.shape;
      feeds[name] = io.int64Inputs?.includes(name)
        ? { dtype: 'int64', dims: [...info.shape], data: await inputs.readInt64(prefix + name) }
        : { dtype: 'float32', dims: [...info.shape], data: await inputs.readFloat32(prefix + name) };
    }
    if (conditionInputs) {
      for (const opt of io.optional) {
        if (has(opt.name)) {
          const info = inputs.info(prefix + opt.name);
          feeds[opt.name] = { dtype: 'float32', dims: [...info.shape], data: await inputs.readFloat32(prefix + opt.name) };
        } else {
          const dims = opt.defaultDims(shapes, model);
          feeds[opt.name] = { dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, d) => a * d, 1)) };
        }
      }
    }
    const started = performance.now();
    const out = await runner.run(feeds);
    const ms = performance.now() - started;
    await runner.release();
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of io.outputs) {
      const t = out[name];
      tensors[name] = { dtype: 'F32', shape: t.dims, data: t.data as Float32Array };
    }
    await writeFile(outPath, encodeSafetensors(tensors));
    console.log(`${model.kind} (${precision}, ${backend}): wrote ${io.outputs.join(', ')} to ${outPath} in ${ms.toFixed(0)} ms`);
  },
};
