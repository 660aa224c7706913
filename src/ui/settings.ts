/**
 * The generation settings the page edits: the hosted endpoint's inputs (names, defaults and bounds of
 * docs/api-contract.md §2) plus the local choices (model, backend). Kept as plain data so history, PNG
 * metadata and copy-as-code all read the same thing.
 */
import { IMAGE_SIZE_PRESETS, type ImageSizePreset } from '../client/input-schema.ts';
import { DEFAULT_SAMPLER_SETTINGS, type SamplerSettings } from '../client/sampler-options.ts';

export { IMAGE_SIZE_PRESETS, type ImageSizePreset };

/** The sampler fields (sampler, scheduler, second_stage_sampler, second_stage_scheduler) are API extensions. */
export interface Settings extends SamplerSettings {
  prompt: string;
  negative_prompt: string;
  first_stage_steps: number;
  second_stage_steps: number;
  guidance_scale: number;
  second_stage_guidance_scale: number;
  /** A preset name or 'custom' (then width/height apply). */
  size: ImageSizePreset | 'custom';
  width: number;
  height: number;
  seed: number;
  /** Keep the seed between generations (otherwise a new random one each time). */
  seedLocked: boolean;
  num_images: number;
  enable_safety_checker: boolean;
  model: string;
  backend: 'auto' | 'webgpu' | 'wasm';
}

export const BOUNDS = {
  first_stage_steps: [4, 50],
  second_stage_steps: [4, 24],
  guidance_scale: [0, 20],
  second_stage_guidance_scale: [0, 20],
  side: [256, 4096],
  seed: [0, 2 ** 32 - 1],
  num_images: [1, 4],
} as const;

/** SoteDiffusion's recommended tag prefixes (model card), offered as one-click inserts, never forced. */
export const RECOMMENDED_PROMPT_PREFIX = 'newest, extremely aesthetic, best quality, ';
export const RECOMMENDED_NEGATIVE = 'very displeasing, worst quality, monochrome, realistic, oldest';

export function defaultSettings(): Settings {
  return {
    prompt: '',
    negative_prompt: '',
    first_stage_steps: 25,
    second_stage_steps: 10,
    guidance_scale: 8,
    second_stage_guidance_scale: 2,
    size: 'custom',
    width: 1024,
    height: 1536,
    seed: randomSeed(),
    seedLocked: false,
    num_images: 1,
    enable_safety_checker: true,
    model: 'tiny-demo',
    backend: 'auto',
    ...DEFAULT_SAMPLER_SETTINGS,
  };
}

export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export function imageSize(s: Settings): { width: number; height: number } {
  return s.size === 'custom' ? { width: s.width, height: s.height } : IMAGE_SIZE_PRESETS[s.size];
}

/** Every problem with the settings, as field → message (empty when valid). */
export function validate(s: Settings): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!s.prompt.trim()) errors.prompt = 'enter a prompt';
  const range = (field: keyof typeof BOUNDS, v: number, integer = true) => {
    const [lo, hi] = BOUNDS[field];
    if (!Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) errors[field] = `must be ${integer ? 'an integer ' : ''}between ${lo} and ${hi}`;
  };
  range('first_stage_steps', s.first_stage_steps);
  range('second_stage_steps', s.second_stage_steps);
  range('guidance_scale', s.guidance_scale, false);
  range('second_stage_guidance_scale', s.second_stage_guidance_scale, false);
  range('seed', s.seed);
  range('num_images', s.num_images);
  if (s.size === 'custom') {
    for (const side of ['width', 'height'] as const) {
      const v = s[side];
      if (!Number.isInteger(v) || v < BOUNDS.side[0] || v > BOUNDS.side[1]) errors[side] = `must be an integer between ${BOUNDS.side[0]} and ${BOUNDS.side[1]}`;
    }
  }
  return errors;
}

/** The hosted client call that reproduces these settings (copy-as-code). */
export function hostedClientCode(s: Settings): string {
  const size = s.size === 'custom' ? { width: s.width, height: s.height } : s.size;
  const input = {
    prompt: s.prompt,
    negative_prompt: s.negative_prompt,
    first_stage_steps: s.first_stage_steps,
    second_stage_steps: s.second_stage_steps,
    guidance_scale: s.guidance_scale,
    second_stage_guidance_scale: s.second_stage_guidance_scale,
    image_size: size,
    seed: s.seed,
    num_images: s.num_images,
    enable_safety_checker: s.enable_safety_checker,
    // Extensions: only when not the default DDPM (the hosted endpoint ignores them; this page's window.sote uses them).
    ...(s.sampler === 'ddpm' ? {} : { sampler: s.sampler, scheduler: s.scheduler }),
    ...(s.second_stage_sampler === 'ddpm' ? {} : { second_stage_sampler: s.second_stage_sampler, second_stage_scheduler: s.second_stage_scheduler }),
  };
  const note = s.sampler !== 'ddpm' || s.second_stage_sampler !== 'ddpm'
    ? '// sampler/scheduler fields are Sote WebGPU extensions: the hosted endpoint ignores them, window.sote on the page uses them\n'
    : '';
  return `import { fal } from "@fal-ai/client";\n\n${note}const { data } = await fal.subscribe("fal-ai/stable-cascade/sote-diffusion", {\n  input: ${JSON.stringify(input, null, 2).replace(/\n/g, '\n  ')},\n  logs: true,\n});\nconsole.log(data.images[0].url);\n`;
}
