/**
 * The input schemas of `fal-ai/stable-cascade/sote-diffusion` (names, defaults and bounds exactly as
 * docs/api-contract.md §2, the hosted endpoint's) and of `fal-ai/stable-cascade` (the same fields; its defaults
 * and its first_stage_steps bound from spec §7.4: 20 (4–40) Stage C steps, CFG 4, 10 Stage B steps, square_hd;
 * its Stage B CFG default is not in fal's own client types — 4 per two third-party copies of its schema, spec
 * §11 item 1), the 422 error shape for bad input, and the mapping from a valid input to the pipeline's
 * GenerationRequest.
 *
 * Invariants:
 * - `parseInput` either returns a fully defaulted `SoteInput` or throws a ValidationError listing EVERY problem
 *   (one entry per problem, loc = ["body", field, …]); nothing is generated for invalid input;
 * - unknown fields never fail a request: they are dropped and reported (`unknownFields`) so the caller can log
 *   a WARN naming them (hosted pydantic models ignore extra fields the same way);
 * - numbers are taken as given, never coerced from strings (a string where a number belongs is a 422).
 *
 * Extensions beyond the hosted schema (optional; absent = the hosted behaviour): `sampler` (Stage C: 'ddpm', the
 * default, or 'dpmpp_2m'), `scheduler` (with dpmpp_2m: 'sgm_uniform' (default), 'normal', 'karras', 'exponential'),
 * `second_stage_sampler` ('ddpm' or 'lcm') and `second_stage_scheduler` (with lcm; default 'exponential').
 * A scheduler without its k-diffusion sampler is a 422 (it would have no effect).
 */
import { z } from 'zod';
import { IMAGE_SIZE_PRESETS, type ImageSizePreset } from '../core/image-size-presets.ts';
import type { GenerationRequest } from '../pipeline/text-to-image.ts';
import { ValidationError, type ValidationIssue } from './api-errors.ts';
import { DEFAULT_SCHEDULER, FIRST_STAGE_SAMPLERS, SCHEDULERS, SECOND_STAGE_SAMPLERS, stageSamplerChoice } from './sampler-options.ts';
import { knownEndpoint, SOTE_DIFFUSION_ENDPOINT, STABLE_CASCADE_ENDPOINT, type EndpointId } from './endpoints.ts';

export { IMAGE_SIZE_PRESETS, type ImageSizePreset };
const PRESET_NAMES = Object.keys(IMAGE_SIZE_PRESETS) as [ImageSizePreset, ...ImageSizePreset[]];

export const MIN_SIDE = 256;
export const MAX_SIDE = 4096;
export const MAX_SEED = 2 ** 32 - 1;

const side = z.number().int().min(MIN_SIDE).max(MAX_SIDE);

/** A custom size's sides default to 512, as the hosted ImageSize's do. */
export const imageSizeSchema = z.union([z.enum(PRESET_NAMES), z.object({ width: side.default(512), height: side.default(512) })]);

/** What differs between the endpoints' schemas. */
export interface EndpointInputDefaults {
  first_stage_steps: number;
  /** Upper bound of first_stage_steps (the lower is 4 on both). */
  first_stage_steps_max: number;
  second_stage_steps: number;
  guidance_scale: number;
  second_stage_guidance_scale: number;
  image_size: z.output<typeof imageSizeSchema>;
}

export const ENDPOINT_INPUT_DEFAULTS: Readonly<Record<EndpointId, Readonly<EndpointInputDefaults>>> = {
  [SOTE_DIFFUSION_ENDPOINT]: {
    first_stage_steps: 25, first_stage_steps_max: 50, second_stage_steps: 10, guidance_scale: 8, second_stage_guidance_scale: 2,
    image_size: { width: 1024, height: 1536 },
  },
  [STABLE_CASCADE_ENDPOINT]: {
    first_stage_steps: 20, first_stage_steps_max: 40, second_stage_steps: 10, guidance_scale: 4, second_stage_guidance_scale: 4,
    image_size: 'square_hd',
  },
};

const makeInputSchema = (d: Readonly<EndpointInputDefaults>) => z.object({
  prompt: z.string().refine((s) => s.trim().length > 0, { message: 'prompt must not be empty', params: { type: 'string_too_short' } }),
  negative_prompt: z.string().default(''),
  first_stage_steps: z.number().int().min(4).max(d.first_stage_steps_max).default(d.first_stage_steps),
  second_stage_steps: z.number().int().min(4).max(24).default(d.second_stage_steps),
  guidance_scale: z.number().min(0).max(20).default(d.guidance_scale),
  second_stage_guidance_scale: z.number().min(0).max(20).default(d.second_stage_guidance_scale),
  image_size: imageSizeSchema.default(typeof d.image_size === 'string' ? d.image_size : { ...d.image_size }),
  /** null (pydantic Optional) and absent both mean "random". */
  seed: z.number().int().min(0).max(MAX_SEED).nullish(),
  enable_safety_checker: z.boolean().default(true),
  num_images: z.number().int().min(1).max(4).default(1),
  sync_mode: z.boolean().default(false),
  // Extensions (see the file comment).
  sampler: z.enum(FIRST_STAGE_SAMPLERS).optional(),
  scheduler: z.enum(SCHEDULERS).optional(),
  second_stage_sampler: z.enum(SECOND_STAGE_SAMPLERS).optional(),
  second_stage_scheduler: z.enum(SCHEDULERS).optional(),
}).superRefine((v, ctx) => {
  const pairs = [['scheduler', v.scheduler, v.sampler, 'dpmpp_2m'], ['second_stage_scheduler', v.second_stage_scheduler, v.second_stage_sampler, 'lcm']] as const;
  for (const [field, scheduler, sampler, needs] of pairs) {
    if (scheduler === undefined || (sampler ?? 'ddpm') !== 'ddpm') continue;
    const samplerField = field === 'scheduler' ? 'sampler' : 'second_stage_sampler';
    ctx.addIssue({
      code: 'custom', path: [field], params: { type: 'value_error' },
      message: `${field} applies to the ${needs} sampler only; set ${samplerField} to '${needs}' or leave ${field} out (ddpm has its own schedule)`,
    });
  }
});

/** `fal-ai/stable-cascade/sote-diffusion`'s schema. */
export const inputSchema = makeInputSchema(ENDPOINT_INPUT_DEFAULTS[SOTE_DIFFUSION_ENDPOINT]);
/** `fal-ai/stable-cascade`'s schema. */
export const stableCascadeInputSchema = makeInputSchema(ENDPOINT_INPUT_DEFAULTS[STABLE_CASCADE_ENDPOINT]);

const SCHEMAS: Record<EndpointId, typeof inputSchema> = { [SOTE_DIFFUSION_ENDPOINT]: inputSchema, [STABLE_CASCADE_ENDPOINT]: stableCascadeInputSchema };

/** The schema of an endpoint; an unknown id is an UnknownEndpointError (404) listing the known ones. */
export function inputSchemaFor(endpointId: string): typeof inputSchema {
  return SCHEMAS[knownEndpoint(endpointId)];
}

/** What callers pass (defaults optional). */
export type SoteInputParams = z.input<typeof inputSchema>;
/** A validated input with every default filled in. */
export type SoteInput = z.output<typeof inputSchema>;
export type ImageSize = z.output<typeof imageSizeSchema>;

export const INPUT_FIELDS: readonly string[] = Object.keys(inputSchema.shape);
/** The inputs the hosted endpoint does not have (documented extensions). */
export const EXTENSION_FIELDS: readonly string[] = ['sampler', 'scheduler', 'second_stage_sampler', 'second_stage_scheduler'];

export interface ParsedInput {
  input: SoteInput;
  /** Top-level keys that are not part of the schema (dropped), in the order given. */
  unknownFields: string[];
}

const describeValue = (v: unknown): string => (v === undefined ? 'nothing' : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** zod issue → the hosted API's {loc, msg, type} (pydantic v2 type names). */
function toIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): ValidationIssue {
  const loc: (string | number)[] = ['body', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  // zod does not put the offending value on issues unless asked (reportInput): read it from the raw input.
  let value: unknown = raw;
  for (const key of issue.path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined) return { loc, msg: 'Field required', type: 'missing' };
      const expected = issue.expected === 'int' ? 'a valid integer' : issue.expected === 'number' ? 'a valid number'
        : issue.expected === 'boolean' ? 'a valid boolean' : issue.expected === 'string' ? 'a valid string'
        : issue.expected === 'object' ? 'a valid object' : `of type ${issue.expected}`;
      const type = issue.expected === 'int' ? 'int_type' : issue.expected === 'number' ? 'float_type' : issue.expected === 'boolean'
        ? 'bool_type' : issue.expected === 'string' ? 'string_type' : `${issue.expected}_type`;
      return { loc, msg: `Input should be ${expected}, got ${describeValue(value)}`, type };
    }
    case 'invalid_value': {
      const shown = typeof value === 'string' ? `'${value}'` : describeValue(value);
      const options = issue.values.map((o) => `'${String(o)}'`);
      return { loc, msg: `Input should be ${options.slice(0, -1).join(', ')} or ${options[options.length - 1]}, got ${shown}`, type: 'enum' };
    }
    case 'too_small':
      return { loc, msg: `Input should be greater than or equal to ${issue.minimum}`, type: 'greater_than_equal' };
    case 'too_big':
      return { loc, msg: `Input should be less than or equal to ${issue.maximum}`, type: 'less_than_equal' };
    case 'invalid_union': {
      // Only image_size is a union: either a preset name or {width, height}.
      const shown = typeof value === 'string' ? `'${value}'` : describeValue(value);
      return {
        loc,
        msg: `Input should be one of ${PRESET_NAMES.map((p) => `'${p}'`).join(', ')} or an object {width, height} with integer sides ${MIN_SIDE}–${MAX_SIDE}; got ${shown}`,
        type: 'literal_error',
      };
    }
    case 'custom': {
      const type = (issue.params as { type?: unknown } | undefined)?.type;
      return { loc, msg: issue.message, type: typeof type === 'string' ? type : 'value_error' };
    }
    default:
      return { loc, msg: issue.message, type: 'value_error' };
  }
}

/**
 * Validates and defaults an input for an endpoint (default: sote-diffusion); throws ValidationError (status 422)
 * with one entry per problem, or UnknownEndpointError for an endpoint this client does not serve.
 */
export function parseInput(raw: unknown, endpointId: string = SOTE_DIFFUSION_ENDPOINT): ParsedInput {
  const schema = inputSchemaFor(endpointId);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError([{ loc: ['body'], msg: `Input should be a valid object, got ${describeValue(raw)}`, type: 'model_type' }]);
  }
  const record = raw as Record<string, unknown>;
  const result = schema.safeParse(record);
  if (!result.success) throw new ValidationError(result.error.issues.map((i) => toIssue(i, record)));
  const unknownFields = Object.keys(record).filter((k) => !INPUT_FIELDS.includes(k));
  return { input: result.data, unknownFields };
}

export function resolveImageSize(size: ImageSize): { width: number; height: number } {
  return typeof size === 'string' ? { ...IMAGE_SIZE_PRESETS[size] } : { width: size.width, height: size.height };
}

/** A uniformly random seed in the schema's range (the seed the request will report). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * The pipeline request for a validated input (spec §7.4 mapping: first stage = Stage C, second = Stage B).
 * `seed` is the seed to use (the caller fixes a random one when the input has none, so a resumed request
 * reproduces the same image).
 */
export function toGenerationRequest(input: SoteInput, seed: number): GenerationRequest {
  const { width, height } = resolveImageSize(input.image_size);
  return {
    prompt: input.prompt,
    negativePrompt: input.negative_prompt,
    width,
    height,
    numImages: input.num_images,
    seed,
    stageC: {
      steps: input.first_stage_steps, cfg: input.guidance_scale,
      ...(input.sampler ? { sampler: stageSamplerChoice(input.sampler, input.scheduler ?? DEFAULT_SCHEDULER.first) } : {}),
    },
    stageB: {
      steps: input.second_stage_steps, cfg: input.second_stage_guidance_scale,
      ...(input.second_stage_sampler ? { sampler: stageSamplerChoice(input.second_stage_sampler, input.second_stage_scheduler ?? DEFAULT_SCHEDULER.second) } : {}),
    },
  };
}
