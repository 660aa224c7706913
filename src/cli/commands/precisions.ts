/**
 * `precisions`: error of each precision option against the fp32 PyTorch goldens (max|diff| / max|ref| of the
 * forward outputs) on onnxruntime-node. The golden models are tiny and random, so int4 errors here are an upper
 * bound: widths below the 32-wide quantization block and unstructured weights are the worst case for it.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createNodeRunner } from '../../engine/node-runner.ts';
import type { HostTensor } from '../../engine/tensor.ts';
import { checkpointSource } from '../../models/checkpoint-source.ts';
import { compileInMemory } from '../../models/compile.ts';
import { PRECISIONS } from '../../models/model-context.ts';
import { buildModel, MODEL_IO, parseModelConfig } from '../../models/registry.ts';
import { fileSource } from '../../weights/node-file-source.ts';
import { SafetensorsFile } from '../../weights/safetensors.ts';
import { parseCli } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE = 'npm run cli -- precisions [--golden ../shared/golden]';

const CASES = [
  { label: 'Stage C', config: 'stage_c_config.json', weights: 'stage_c_weights.safetensors', io: 'stage_c_forward.safetensors', prefix: '', ref: 'output' },
  { label: 'Stage B', config: 'stage_b_config.json', weights: 'stage_b_weights.safetensors', io: 'stage_b_forward.safetensors', prefix: 'aligned.', ref: 'aligned.output' },
  { label: 'Stage A', config: 'stage_a_config.json', weights: 'stage_a_weights.safetensors', io: 'stage_a_decode.safetensors', prefix: '', ref: 'decoded' },
  { label: 'CLIP text (text_embeds)', config: 'clip/text_encoder_config.json', weights: 'clip/text_encoder_weights.safetensors', io: 'clip/text_encoder_forward.safetensors', prefix: 'input.', ref: 'masked.text_embeds' },
];

export const command: CliCommand = {
  summary: 'measure each precision option against the fp32 goldens',
  async run(argv) {
    const { values } = parseCli(argv, { golden: { type: 'string', default: process.env.SOTE_GOLDEN_DIR ?? resolve('../shared/golden') } }, USAGE);
    const dir = values.golden!;
    console.log(`| network (golden) | ${PRECISIONS.join(' | ')} |`);
    console.log(`|---|${PRECISIONS.map(() => '---:').join('|')}|`);
    for (const c of CASES) {
      const model = parseModelConfig(JSON.parse(await readFile(join(dir, c.config), 'utf8')));
      const io = await SafetensorsFile.open(fileSource(join(dir, c.io)));
      const weights = checkpointSource([await SafetensorsFile.open(fileSource(join(dir, c.weights)))], model.kind);
      const spec = MODEL_IO[model.kind];
      const conditionInputs = spec.optional.some((o) => io.has(c.prefix + o.name));
      const feeds: Record<string, HostTensor> = {};
      for (const name of [...spec.required, ...(conditionInputs ? spec.optional.map((o) => o.name) : [])]) {
        const info = io.info(c.prefix + name);
        feeds[name] = spec.int64Inputs?.includes(name)
          ? { dtype: 'int64', dims: [...info.shape], data: await io.readInt64(c.prefix + name) }
          : { dtype: 'float32', dims: [...info.shape], data: await io.readFloat32(c.prefix + name) };
      }
      const ref = await io.readFloat32(c.ref);
      const outName = c.ref.split('.').pop()!;
      const cells: string[] = [];
      for (const precision of PRECISIONS) {
        const runner = await createNodeRunner(await compileInMemory(buildModel(model, { precision, conditionInputs }), weights), 'node');
        const out = (await runner.run(feeds))[outName].data as Float32Array;
        await runner.release();
        let diff = 0;
        let mag = 0;
        for (let i = 0; i < ref.length; i++) {
          diff = Math.max(diff, Math.abs(out[i] - ref[i]));
          mag = Math.max(mag, Math.abs(ref[i]));
        }
        cells.push((diff / mag).toExponential(1));
      }
      console.log(`| ${c.label} | ${cells.join(' | ')} |`);
    }
  },
};
