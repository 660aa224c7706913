import { describe, expect, it } from 'vitest';
import { SOTE_V2_RECOMMENDED } from './sampler-options.ts';
import { ValidationError } from './api-errors.ts';
import { parseInput, toGenerationRequest } from './input-schema.ts';

const detailOf = (raw: unknown) => {
  try {
    parseInput(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    const v = e as ValidationError;
    expect(v.status).toBe(422);
    return v.body.detail;
  }
  throw new Error('no 422');
};

describe('input schema (api-contract §2)', () => {
  it('fills the sote-diffusion defaults', () => {
    const { input, unknownFields } = parseInput({ prompt: 'a cat' });
    expect(input).toEqual({
      prompt: 'a cat', negative_prompt: '', first_stage_steps: 25, second_stage_steps: 10, guidance_scale: 8,
      second_stage_guidance_scale: 2, image_size: { width: 1024, height: 1536 }, enable_safety_checker: true, num_images: 1, sync_mode: false,
    });
    expect(unknownFields).toEqual([]);
  });

  it('reports unknown fields without failing', () => {
    expect(parseInput({ prompt: 'x', foo: 1, bar: 2 }).unknownFields).toEqual(['foo', 'bar']);
  });

  it('one entry per problem, each naming its field', () => {
    const d = detailOf({ num_images: 5, first_stage_steps: 3, image_size: 'huge', seed: -1, guidance_scale: 21, second_stage_steps: 4.5 });
    const fields = d.map((x) => x.loc[1]).sort();
    expect(fields).toEqual(['first_stage_steps', 'guidance_scale', 'image_size', 'num_images', 'prompt', 'second_stage_steps', 'seed']);
    expect(d.find((x) => x.loc[1] === 'prompt')).toMatchObject({ loc: ['body', 'prompt'], type: 'missing' });
    expect(d.find((x) => x.loc[1] === 'num_images')).toMatchObject({ type: 'less_than_equal', msg: 'Input should be less than or equal to 4' });
    expect(d.find((x) => x.loc[1] === 'first_stage_steps')).toMatchObject({ type: 'greater_than_equal' });
    expect(d.find((x) => x.loc[1] === 'image_size')?.msg).toContain("'huge'");
    expect(d.find((x) => x.loc[1] === 'second_stage_steps')).toMatchObject({ type: 'int_type' });
  });

  it('custom size sides are integers 256–4096', () => {
    expect(detailOf({ prompt: 'x', image_size: { width: 100, height: 256 } })).toEqual([
      { loc: ['body', 'image_size', 'width'], msg: 'Input should be greater than or equal to 256', type: 'greater_than_equal' },
    ]);
    expect(detailOf({ prompt: 'x', image_size: { width: 256, height: 5000 } })[0].loc).toEqual(['body', 'image_size', 'height']);
  });

  it('empty prompt, non-object body', () => {
    expect(detailOf({ prompt: '  ' })[0]).toMatchObject({ loc: ['body', 'prompt'], type: 'string_too_short' });
    expect(detailOf('a cat')[0]).toMatchObject({ loc: ['body'], type: 'model_type' });
  });

  it('maps to the pipeline request (presets, stages)', () => {
    const { input } = parseInput({ prompt: 'p', negative_prompt: 'n', image_size: 'portrait_16_9', first_stage_steps: 30, guidance_scale: 7, second_stage_steps: 12, second_stage_guidance_scale: 1.1, num_images: 2, seed: 2 ** 32 - 1 });
    expect(toGenerationRequest(input, 42)).toEqual({
      prompt: 'p', negativePrompt: 'n', width: 576, height: 1024, numImages: 2, seed: 42, stageC: { steps: 30, cfg: 7 }, stageB: { steps: 12, cfg: 1.1 },
    });
  });

  it('extensions: samplers and schedulers map to the stages; absent ones keep the hosted behaviour', () => {
    const { input, unknownFields } = parseInput({ prompt: 'p', ...SOTE_V2_RECOMMENDED });
    expect(unknownFields).toEqual([]);
    const req = toGenerationRequest(input, 1);
    expect(req.stageC).toEqual({ steps: 28, cfg: 6, sampler: { method: 'dpmpp_2m', schedule: 'sgm_uniform' } });
    expect(req.stageB).toEqual({ steps: 14, cfg: 1, sampler: { method: 'lcm', schedule: 'exponential' } });
    // A k-diffusion sampler without a scheduler takes the model card's one for its stage.
    const bare = toGenerationRequest(parseInput({ prompt: 'p', sampler: 'dpmpp_2m', second_stage_sampler: 'lcm' }).input, 1);
    expect([bare.stageC.sampler, bare.stageB.sampler]).toEqual([{ method: 'dpmpp_2m', schedule: 'sgm_uniform' }, { method: 'lcm', schedule: 'exponential' }]);
    expect(toGenerationRequest(parseInput({ prompt: 'p', sampler: 'ddpm' }).input, 1).stageC.sampler).toEqual({ method: 'ddpm' });
  });

  it('extensions: bad values and schedulers without their sampler are 422 entries naming the field', () => {
    const d = detailOf({ prompt: 'p', sampler: 'lcm', second_stage_sampler: 'euler', scheduler: 'beta' });
    expect(d.map((x) => x.loc[1]).sort()).toEqual(['sampler', 'scheduler', 'second_stage_sampler']);
    expect(d.find((x) => x.loc[1] === 'sampler')).toMatchObject({ type: 'enum', msg: "Input should be 'ddpm' or 'dpmpp_2m', got 'lcm'" });
    expect(d.find((x) => x.loc[1] === 'scheduler')?.msg).toContain("'sgm_uniform', 'normal', 'karras' or 'exponential'");
    expect(detailOf({ prompt: 'p', scheduler: 'karras' })).toEqual([{
      loc: ['body', 'scheduler'], type: 'value_error',
      msg: "scheduler applies to the dpmpp_2m sampler only; set sampler to 'dpmpp_2m' or leave scheduler out (ddpm has its own schedule)",
    }]);
    expect(detailOf({ prompt: 'p', second_stage_sampler: 'ddpm', second_stage_scheduler: 'normal' })[0].loc).toEqual(['body', 'second_stage_scheduler']);
  });
});
