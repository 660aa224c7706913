/**
 * `generate`: prompt → PNG file(s) with a model package directory, in Node (onnxruntime-node or WASM), through
 * the same TextToImagePipeline the page runs. Every input of the hosted endpoint (fal-ai/stable-cascade/
 * sote-diffusion, spec §10.5) is an option, with the hosted defaults (spec §7.4): 25 first-stage steps at CFG 8,
 * 10 second-stage steps at CFG 2, 1024×1536 (width × height), one image, random seed. (enable_safety_checker and
 * sync_mode have no meaning for a local file and are not offered.)
 *
 * Output: --out img.png for one image; img-1.png, img-2.png, … for several. Each PNG carries an A1111-style
 * `parameters` chunk (png.ts) from which the generation can be repeated: all images of a batch share one seed
 * (one generator draws every image's noise, spec §8.6), so batches also record their size and index.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { IMAGE_SIZE_PRESETS, isImageSizePreset } from '../../core/image-size-presets.ts';
import { createNodeEngine, NODE_ENGINE_BACKENDS } from '../../engine/node-engine.ts';
import { directoryPackageReader } from '../../pipeline/package-reader-node.ts';
import { encodePngWithParameters, type GenerationParameters } from '../../pipeline/png.ts';
import type { SamplerPresetName, StageSamplerChoice } from '../../pipeline/samplers/presets.ts';
import {
  DEFAULT_SCHEDULER, FIRST_STAGE_SAMPLERS, samplerLabel, SCHEDULERS, SECOND_STAGE_SAMPLERS, stageSamplerChoice, type Scheduler,
} from '../../pipeline/samplers/sampler-choices.ts';
import { TextToImagePipeline } from '../../pipeline/text-to-image.ts';
import { oneOf, parseCli, required, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';

const USAGE =
  'npm run cli -- generate --model <package dir> --prompt "…" [--negative-prompt "…"] [--first-stage-steps 25] ' +
  '[--second-stage-steps 10] [--guidance-scale 8] [--second-stage-guidance-scale 2] ' +
  '[--image-size square_hd|square|portrait_4_3|portrait_16_9|landscape_4_3|landscape_16_9|WxH] [--seed N] ' +
  '[--num-images 1] [--sampler ddpm|dpmpp_2m|official|diffusers] [--scheduler sgm_uniform|normal|karras|exponential] ' +
  '[--second-stage-sampler ddpm|lcm] [--second-stage-scheduler …] [--long-prompt] [--backend node|wasm] [--residency all|sequential] --out img.png';

/** fal-ai/stable-cascade/sote-diffusion defaults (spec §7.4). */
export const HOSTED_DEFAULTS = {
  firstStageSteps: 25,
  secondStageSteps: 10,
  guidanceScale: 8,
  secondStageGuidanceScale: 2,
  width: 1024,
  height: 1536,
  numImages: 1,
} as const;

/** Names written as `Sampler:` in the parameters chunk. */
export const SAMPLER_LABELS: Readonly<Record<SamplerPresetName, string>> = {
  official: 'DDPM (official gdf)',
  diffusers: 'DDPMWuerstchen (diffusers)',
};

/**
 * The sampler options (the API's extensions, spec'd in pipeline/samplers/sampler-choices.ts): --sampler is the Stage C
 * sampler (ddpm, the default, or dpmpp_2m); `official` and `diffusers` pick the DDPM formulation of both stages
 * (official = ddpm). --scheduler / --second-stage-scheduler apply to the k-diffusion samplers only.
 */
export function parseSamplerOptions(values: { sampler?: string; scheduler?: string; 'second-stage-sampler'?: string; 'second-stage-scheduler'?: string }): {
  preset: SamplerPresetName; stageC: StageSamplerChoice; stageB: StageSamplerChoice;
  labels: Pick<GenerationParameters, 'sampler' | 'scheduleType' | 'secondStageSampler' | 'secondStageScheduleType'>;
} {
  const samplerC = oneOf(values.sampler, [...FIRST_STAGE_SAMPLERS, 'official', 'diffusers'] as const, '--sampler', 'ddpm', USAGE);
  const samplerB = oneOf(values['second-stage-sampler'], SECOND_STAGE_SAMPLERS, '--second-stage-sampler', 'ddpm', USAGE);
  const schedule = (flag: string, value: string | undefined, kSampler: boolean, fallback: Scheduler, needs: string): Scheduler => {
    if (value !== undefined && !kSampler) throw new UsageError(`${flag} applies to ${needs} only`, USAGE);
    return oneOf(value, SCHEDULERS, flag, fallback, USAGE);
  };
  const scheduleC = schedule('--scheduler', values.scheduler, samplerC === 'dpmpp_2m', DEFAULT_SCHEDULER.first, '--sampler dpmpp_2m');
  const scheduleB = schedule('--second-stage-scheduler', values['second-stage-scheduler'], samplerB === 'lcm', DEFAULT_SCHEDULER.second, '--second-stage-sampler lcm');
  const preset: SamplerPresetName = samplerC === 'diffusers' ? 'diffusers' : 'official';
  const c = samplerC === 'dpmpp_2m' ? stageSamplerChoice('dpmpp_2m', scheduleC) : stageSamplerChoice('ddpm', scheduleC);
  const kC = samplerLabel(samplerC === 'dpmpp_2m' ? 'dpmpp_2m' : 'ddpm', scheduleC);
  const kB = samplerLabel(samplerB, scheduleB);
  return {
    preset, stageC: c, stageB: stageSamplerChoice(samplerB, scheduleB),
    labels: {
      sampler: samplerC === 'dpmpp_2m' ? kC.sampler : SAMPLER_LABELS[preset],
      ...(kC.scheduleType ? { scheduleType: kC.scheduleType } : {}),
      ...(samplerB === 'lcm' ? { secondStageSampler: kB.sampler, secondStageScheduleType: kB.scheduleType } : {}),
    },
  };
}

/** A preset name or WxH (positive integers, ≤ 14142 as in the newer fal toolkit). */
export function parseImageSize(value: string): { width: number; height: number } {
  if (isImageSizePreset(value)) return { ...IMAGE_SIZE_PRESETS[value] };
  const m = /^(\d+)[x×](\d+)$/.exec(value);
  const size = m && { width: Number(m[1]), height: Number(m[2]) };
  if (!size || size.width < 1 || size.height < 1 || size.width > 14142 || size.height > 14142) {
    throw new UsageError(`--image-size must be one of ${Object.keys(IMAGE_SIZE_PRESETS).join(', ')} or WxH (got "${value}")`, USAGE);
  }
  return size;
}

function integer(value: string | undefined, flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer in [${min}, ${max}] (got "${value}")`, USAGE);
  return n;
}

function scale(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number ≥ 0 (got "${value}")`, USAGE);
  return n;
}

/** 0 … 2^64−1, like the hosted API (PyTorch keeps the low 32 bits). */
function parseSeed(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  let seed: bigint;
  try {
    seed = BigInt(value);
  } catch {
    throw new UsageError(`--seed must be an integer (got "${value}")`, USAGE);
  }
  if (seed < 0n || seed >= 2n ** 64n) throw new UsageError(`--seed must be in [0, 2^64) (got ${value})`, USAGE);
  return seed;
}

/** img.png → img.png for one image; img-1.png, img-2.png, … for several. */
export function outputPaths(out: string, n: number): string[] {
  if (n === 1) return [out];
  const ext = extname(out) || '.png';
  const stem = extname(out) ? out.slice(0, -ext.length) : out;
  return Array.from({ length: n }, (_, i) => `${stem}-${i + 1}${ext}`);
}

export const command: CliCommand = {
  summary: 'generate PNG image(s) from a prompt with a model package directory (hosted-API options and defaults)',
  async run(argv) {
    const { values } = parseCli(argv, {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'negative-prompt': { type: 'string', default: '' },
      'first-stage-steps': { type: 'string' },
      'second-stage-steps': { type: 'string' },
      'guidance-scale': { type: 'string' },
      'second-stage-guidance-scale': { type: 'string' },
      'image-size': { type: 'string' },
      seed: { type: 'string' },
      'num-images': { type: 'string' },
      sampler: { type: 'string' },
      scheduler: { type: 'string' },
      'second-stage-sampler': { type: 'string' },
      'second-stage-scheduler': { type: 'string' },
      'long-prompt': { type: 'boolean', default: false },
      backend: { type: 'string' },
      residency: { type: 'string' },
      out: { type: 'string' },
    }, USAGE);
    const modelDir = required(values.model, '--model', USAGE);
    const prompt = values.prompt;
    if (prompt === undefined) throw new UsageError('missing --prompt', USAGE);
    const out = required(values.out, '--out', USAGE);
    const { width, height } = values['image-size'] === undefined ? HOSTED_DEFAULTS : parseImageSize(values['image-size']);
    const samplers = parseSamplerOptions(values);
    const stageC = {
      steps: integer(values['first-stage-steps'], '--first-stage-steps', HOSTED_DEFAULTS.firstStageSteps, 1),
      cfg: scale(values['guidance-scale'], '--guidance-scale', HOSTED_DEFAULTS.guidanceScale),
      sampler: samplers.stageC,
    };
    const stageB = {
      steps: integer(values['second-stage-steps'], '--second-stage-steps', HOSTED_DEFAULTS.secondStageSteps, 1),
      cfg: scale(values['second-stage-guidance-scale'], '--second-stage-guidance-scale', HOSTED_DEFAULTS.secondStageGuidanceScale),
      sampler: samplers.stageB,
    };
    const numImages = integer(values['num-images'], '--num-images', HOSTED_DEFAULTS.numImages, 1, 4);
    const sampler = samplers.preset;
    const backend = oneOf(values.backend, NODE_ENGINE_BACKENDS, '--backend', 'node', USAGE);
    // 'sequential' keeps one network in memory at a time (each released after its stage): for a package whose
    // networks do not fit in RAM together (onnxruntime's CPU provider holds several times an fp16 network's bytes).
    const residency = oneOf(values.residency, ['all', 'sequential'] as const, '--residency', 'all', USAGE);
    const seed = parseSeed(values.seed);
    const negativePrompt = values['negative-prompt'] ?? '';

    const engine = await createNodeEngine(backend);
    const sessions: string[] = [];
    const loadStarted = performance.now();
    const pipeline = await TextToImagePipeline.load(engine, directoryPackageReader(modelDir), {
      residency,
      onEvent: (e) => {
        if (e.type === 'session') sessions.push(`${e.component} ${e.ms.toFixed(0)} ms`);
        // One line per sampler step (npm run scale reads the warm step times from these).
        if (e.type === 'step') console.log(`step ${e.stage} ${e.step}/${e.steps} ${e.ms.toFixed(0)} ms`);
      },
    });
    const loadMs = performance.now() - loadStarted;
    console.log(`loaded ${pipeline.manifest.name} (${backend}) in ${loadMs.toFixed(0)} ms: ${sessions.join(', ')}`);

    try {
      const result = await pipeline.generate({ prompt, negativePrompt, width, height, numImages, seed, stageC, stageB, sampler, longPrompt: values['long-prompt'] });
      const paths = outputPaths(out, numImages);
      if (dirname(out) !== '.') await mkdir(dirname(out), { recursive: true });
      for (const [i, image] of result.images.entries()) {
        const parameters: GenerationParameters = {
          prompt, negativePrompt, steps: stageC.steps, cfgScale: stageC.cfg, ...samplers.labels,
          seed: result.seed.toString(), width: image.width, height: image.height, model: pipeline.manifest.name,
          secondStageSteps: stageB.steps, secondStageCfgScale: stageB.cfg,
          ...(numImages > 1 ? { extra: { 'Batch size': String(numImages), 'Batch pos': String(i) } } : {}),
        };
        await writeFile(paths[i], encodePngWithParameters(image, parameters));
      }
      const t = result.timings;
      console.log(`seed ${result.seed}`);
      console.log(
        `timings (s): text_encoder ${t.text_encoder.toFixed(3)}, prior ${t.prior.toFixed(3)} (${stageC.steps} steps), ` +
          `decoder ${t.decoder.toFixed(3)} (${stageB.steps} steps), vqgan ${t.vqgan.toFixed(3)}, inference ${t.inference.toFixed(3)}`,
      );
      const names = [samplers.labels.sampler, samplers.labels.scheduleType, '/', samplers.labels.secondStageSampler ?? samplers.labels.sampler, samplers.labels.secondStageScheduleType];
      console.log(`wrote ${paths.join(', ')} (${width}×${height}, ${names.filter(Boolean).join(' ')}, read-backs ${result.readbacks})`);
    } finally {
      await pipeline.release();
    }
  },
};
