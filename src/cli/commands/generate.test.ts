/** The `generate` command in-process on the demo package written to a temporary directory. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../models/demo-model.ts';
import { readPngParameters } from '../../pipeline/png.ts';
import { UsageError } from '../args.ts';
import { command, outputPaths, parseImageSize } from './generate.ts';

const dir = await mkdtemp(join(tmpdir(), 'sote-generate-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('generate command', () => {
  it('parses sizes and names outputs', () => {
    expect(parseImageSize('portrait_16_9')).toEqual({ width: 576, height: 1024 });
    expect(parseImageSize('300x257')).toEqual({ width: 300, height: 257 });
    expect(() => parseImageSize('huge')).toThrow(UsageError);
    expect(outputPaths('out/img.png', 1)).toEqual(['out/img.png']);
    expect(outputPaths('out/img.png', 3)).toEqual(['out/img-1.png', 'out/img-2.png', 'out/img-3.png']);
    expect(outputPaths('img', 2)).toEqual(['img-1.png', 'img-2.png']);
  });

  it('writes PNGs with the parameters chunk from the demo model', async () => {
    const model = join(dir, 'tiny-demo');
    await writeDemoModel({
      write: async (path, bytes) => {
        await mkdir(dirname(join(model, path)), { recursive: true });
        await writeFile(join(model, path), bytes);
      },
    });
    const out = join(dir, 'img.png');
    await command.run([
      '--model', model, '--prompt', 'a cat', '--negative-prompt', 'blurry', '--image-size', '160x128', '--seed', '1234',
      '--num-images', '2', '--first-stage-steps', '2', '--second-stage-steps', '2', '--out', out,
    ]);
    const pngs = await Promise.all(outputPaths(out, 2).map((p) => readFile(p)));
    for (const [i, bytes] of pngs.entries()) {
      const png = decode(bytes);
      expect([png.width, png.height, png.channels]).toEqual([160, 128, 3]);
      expect(readPngParameters(bytes)).toEqual({
        prompt: 'a cat', negativePrompt: 'blurry', steps: 2, cfgScale: 8, sampler: 'DDPM (official gdf)', seed: '1234',
        width: 160, height: 128, model: 'tiny-demo', secondStageSteps: 2, secondStageCfgScale: 2,
        extra: { 'Batch size': '2', 'Batch pos': String(i) },
      });
    }
    expect(Buffer.compare(pngs[0], pngs[1])).not.toBe(0);

    // --residency sequential (one network in memory at a time) gives the same image; a wrong value is refused.
    const seqOut = join(dir, 'seq.png');
    await command.run([
      '--model', model, '--prompt', 'a cat', '--negative-prompt', 'blurry', '--image-size', '160x128', '--seed', '1234',
      '--num-images', '2', '--first-stage-steps', '2', '--second-stage-steps', '2', '--residency', 'sequential', '--out', seqOut,
    ]);
    const seq = await Promise.all(outputPaths(seqOut, 2).map((p) => readFile(p)));
    for (const [i, bytes] of seq.entries()) expect(decode(bytes).data).toEqual(decode(pngs[i]).data);
    await expect(command.run(['--model', model, '--prompt', 'a cat', '--residency', 'some', '--out', seqOut]))
      .rejects.toThrow(/--residency must be one of all, sequential \(got "some"\)/);
  });
});
