import { describe, expect, it } from 'vitest';
import { UnknownEndpointError, ValidationError } from './api-errors.ts';
import { KNOWN_ENDPOINTS, SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT } from './endpoints.ts';
import { inputSchema, inputSchemaFor, parseInput, stableCascadeInputSchema, toGenerationRequest } from './input-schema.ts';

const detailOf = (raw: unknown, endpointId: string) => {
  try {
    parseInput(raw, endpointId);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).body.detail;
  }
  throw new Error('no 422');
};

describe('per-endpoint input schemas', () => {
  it('fal-ai/stable-cascade: 20 Stage C steps at CFG 4, 10 Stage B steps, square_hd', () => {
    const { input, unknownFields } = parseInput({ prompt: 'a cat' }, STABLE_CASCADE_ENDPOINT);
    expect(input).toEqual({
      prompt: 'a cat', negative_prompt: '', first_stage_steps: 20, second_stage_steps: 10, guidance_scale: 4,
      second_stage_guidance_scale: 4, image_size: 'square_hd', enable_safety_checker: true, num_images: 1, sync_mode: false,
    });
    expect(unknownFields).toEqual([]);
    expect(toGenerationRequest(input, 7)).toMatchObject({ width: 1024, height: 1024, stageC: { steps: 20, cfg: 4 }, stageB: { steps: 10, cfg: 4 } });
  });

  it('the sote-diffusion schema is unchanged and stays the default of parseInput', () => {
    const sote = parseInput({ prompt: 'a cat' }, SOTE_DIFFUSION_ENDPOINT).input;
    expect(parseInput({ prompt: 'a cat' }).input).toEqual(sote);
    expect(sote).toMatchObject({ first_stage_steps: 25, guidance_scale: 8, second_stage_steps: 10, second_stage_guidance_scale: 2, image_size: { width: 1024, height: 1536 } });
    expect(inputSchemaFor(SOTE_DIFFUSION_ENDPOINT)).toBe(inputSchema);
    expect(inputSchemaFor(STABLE_CASCADE_ENDPOINT)).toBe(stableCascadeInputSchema);
    expect(Object.keys(stableCascadeInputSchema.shape)).toEqual(Object.keys(inputSchema.shape));
    expect(parseInput({ prompt: 'x', first_stage_steps: 50 }).input.first_stage_steps).toBe(50);
  });

  it('fal-ai/stable-cascade bounds: first_stage_steps 4–40, the rest as sote-diffusion', () => {
    expect(parseInput({ prompt: 'x', first_stage_steps: 40 }, STABLE_CASCADE_ENDPOINT).input.first_stage_steps).toBe(40);
    expect(detailOf({ prompt: 'x', first_stage_steps: 41 }, STABLE_CASCADE_ENDPOINT)).toEqual([
      { loc: ['body', 'first_stage_steps'], msg: 'Input should be less than or equal to 40', type: 'less_than_equal' },
    ]);
    const d = detailOf({ prompt: 'x', second_stage_steps: 25, guidance_scale: -1, num_images: 5, image_size: 'huge' }, STABLE_CASCADE_ENDPOINT);
    expect(d.map((x) => x.loc[1]).sort()).toEqual(['guidance_scale', 'image_size', 'num_images', 'second_stage_steps']);
    // Explicit values win over the endpoint's defaults.
    const { input } = parseInput({ prompt: 'x', image_size: { width: 512, height: 768 }, guidance_scale: 6, second_stage_guidance_scale: 0 }, STABLE_CASCADE_ENDPOINT);
    expect([input.image_size, input.guidance_scale, input.second_stage_guidance_scale]).toEqual([{ width: 512, height: 768 }, 6, 0]);
  });

  it('both endpoints are known; any other id is an UnknownEndpointError (404) naming them', () => {
    expect(KNOWN_ENDPOINTS).toEqual(['fal-ai/stable-cascade/sote-diffusion', 'fal-ai/stable-cascade']);
    for (const id of ['fal-ai/flux/dev', 'fal-ai/stable-cascade/', 'fal-ai/stable-cascade/lite']) {
      let error: unknown;
      try {
        parseInput({ prompt: 'x' }, id);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnknownEndpointError);
      expect(error).toMatchObject({ status: 404, body: { known: [...KNOWN_ENDPOINTS] } });
      expect((error as Error).message).toBe(`unknown endpoint "${id}": this client serves only "fal-ai/stable-cascade/sote-diffusion", "fal-ai/stable-cascade"`);
    }
  });
});
