/** `generate` with the sampler options (the API's extensions) on the demo package. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDemoModel } from '../../models/demo-model.ts';
import { readPngParameters } from '../../pipeline/png.ts';
import { UsageError } from '../args.ts';
import { command, parseSamplerOptions } from './generate.ts';

const dir = await mkdtemp(join(tmpdir(), 'sote-generate-samplers-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('generate: sampler options', () => {
  it('parses the samplers and schedules, with the model card defaults and clear refusals', () => {
    expect(parseSamplerOptions({})).toMatchObject({ preset: 'official', stageC: { method: 'ddpm' }, stageB: { method: 'ddpm' }, labels: { sampler: 'DDPM (official gdf)' } });
    expect(parseSamplerOptions({ sampler: 'diffusers' })).toMatchObject({ preset: 'diffusers', stageC: { method: 'ddpm' } });
    expect(parseSamplerOptions({ sampler: 'dpmpp_2m', 'second-stage-sampler': 'lcm' })).toEqual({
      preset: 'official',
      stageC: { method: 'dpmpp_2m', schedule: 'sgm_uniform' },
      stageB: { method: 'lcm', schedule: 'exponential' },
      labels: { sampler: 'DPM++ 2M', scheduleType: 'SGM Uniform', secondStageSampler: 'LCM', secondStageScheduleType: 'Exponential' },
    });
    expect(parseSamplerOptions({ sampler: 'dpmpp_2m', scheduler: 'karras' }).stageC).toEqual({ method: 'dpmpp_2m', schedule: 'karras' });
    expect(() => parseSamplerOptions({ scheduler: 'karras' })).toThrow(/--scheduler applies to --sampler dpmpp_2m only/);
    expect(() => parseSamplerOptions({ 'second-stage-sampler': 'euler' })).toThrow(UsageError);
    expect(() => parseSamplerOptions({ sampler: 'dpmpp_2m', scheduler: 'beta' })).toThrow(/--scheduler must be one of sgm_uniform, normal, karras, exponential/);
  });

  it('generates with the recommended samplers and records them in the PNG', async () => {
    const model = join(dir, 'tiny-demo');
    await writeDemoModel({
      write: async (path, bytes) => {
        await mkdir(dirname(join(model, path)), { recursive: true });
        await writeFile(join(model, path), bytes);
      },
    });
    const out = join(dir, 'img.png');
    await command.run([
      '--model', model, '--prompt', 'a cat', '--image-size', '256x256', '--seed', '5', '--first-stage-steps', '3', '--guidance-scale', '6',
      '--sampler', 'dpmpp_2m', '--scheduler', 'sgm_uniform', '--second-stage-steps', '3', '--second-stage-guidance-scale', '1',
      '--second-stage-sampler', 'lcm', '--second-stage-scheduler', 'exponential', '--out', out,
    ]);
    expect(readPngParameters(await readFile(out))).toMatchObject({
      steps: 3, cfgScale: 6, sampler: 'DPM++ 2M', scheduleType: 'SGM Uniform',
      secondStageSteps: 3, secondStageCfgScale: 1, secondStageSampler: 'LCM', secondStageScheduleType: 'Exponential',
    });
  });
});
