/**
 * `npm run cli -- randn --seed S --shape 2,16,24,24 [--shape …] --out O.safetensors`
 *
 * Draws each shape in order from ONE TorchGenerator (torch.Generator('cpu').manual_seed(S), float32 randn, scalar
 * kernel) and writes draw0, draw1, … as F32 tensors, so the numbers can be compared with PyTorch directly.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { encodeSafetensors, type TensorToWrite } from '../../weights/safetensors-writer.ts';
import { TorchGenerator } from '../../core/torch-generator.ts';
import type { CliCommand } from '../command.ts';

const USAGE = 'usage: npm run cli -- randn --seed S --shape D0,D1,… [--shape …] --out FILE.safetensors';

function parseSeed(text: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw new Error(`--seed must be a decimal integer in 0 … 2^64−1, got "${text}"\n${USAGE}`);
  const seed = BigInt(text.trim());
  if (seed > (1n << 64n) - 1n) throw new Error(`--seed ${seed} exceeds 2^64−1\n${USAGE}`);
  return seed;
}

function parseShape(text: string): number[] {
  const dims = text.split(',').map((d) => d.trim());
  if (dims.length === 0 || dims.some((d) => !/^\d+$/.test(d))) {
    throw new Error(`--shape must be comma-separated non-negative integers such as 2,16,24,24, got "${text}"\n${USAGE}`);
  }
  const shape = dims.map(Number);
  const numel = shape.reduce((a, b) => a * b, 1);
  // Float32Array length limit and a sanity bound: 2^28 floats is 1 GiB.
  if (!Number.isSafeInteger(numel) || numel > 2 ** 28) throw new Error(`--shape ${text} has ${numel} elements, more than 2^28`);
  return shape;
}

export const command: CliCommand = {
  summary: 'draw torch.randn (CPU, float32) tensors for a seed and write them to a safetensors file',
  async run(argv: string[]): Promise<void> {
    let values: { seed?: string; shape?: string[]; out?: string; help?: boolean };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          seed: { type: 'string' },
          shape: { type: 'string', multiple: true },
          out: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: false,
        strict: true,
      }));
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${USAGE}`);
    }
    if (values.help) {
      console.log(`${USAGE}\n\nEach --shape is drawn in order from one generator (the stream continues between draws);` +
        ' the tensors are saved as draw0, draw1, … (F32). PyTorch uses only the low 32 bits of the seed.');
      return;
    }
    if (values.seed === undefined) throw new Error(`--seed is required\n${USAGE}`);
    if (!values.shape || values.shape.length === 0) throw new Error(`at least one --shape is required\n${USAGE}`);
    if (!values.out) throw new Error(`--out is required\n${USAGE}`);
    const seed = parseSeed(values.seed);
    const shapes = values.shape.map(parseShape);

    const gen = new TorchGenerator(seed);
    const tensors: Record<string, TensorToWrite> = {};
    shapes.forEach((shape, i) => {
      tensors[`draw${i}`] = { dtype: 'F32', shape, data: gen.randn(shape) };
    });
    const bytes = encodeSafetensors(tensors, {
      generator: 'torch.Generator("cpu") mt19937, randn float32, scalar (non-AVX) kernel',
      seed: seed.toString(),
    });
    await writeFile(values.out, bytes);
    const summary = shapes.map((s, i) => `draw${i} [${s.join(', ')}]`).join(', ');
    console.log(`wrote ${values.out} (${bytes.byteLength} bytes): seed ${seed} (low 32 bits ${seed & 0xffffffffn}), ${summary}`);
  },
};
