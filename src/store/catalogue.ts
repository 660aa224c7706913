/**
 * The built-in models and how the page picks one from its URL:
 * - `?model=tiny` → the tiny demo package; `?model=sotediffusion-v2` (or no parameter) → SoteDiffusion V2;
 * - `?model=stable-cascade` / `?model=stable-cascade-lite` → Stability AI's Stable Cascade, big or lite;
 * - `?model=<url>` → a descriptor JSON fetched from that URL (relative URLs resolve against the page);
 * - `?hub=<base url>` → fetch checkpoint files from a mirror / self-hosted hub instead of the descriptor's hub.
 */
import { DEFAULT_HUB, parseDescriptor, withHub, type ModelDescriptor } from './descriptor.ts';
import { DescriptorError } from './errors.ts';

const GiB = 2 ** 30;

/** SoteDiffusion V2 recommended prompting (model card; docs/api-contract.md §4) and the hosted API defaults. */
const SOTE_DEFAULTS = {
  width: 1024,
  height: 1536,
  stageC: { steps: 25, cfg: 8 },
  stageB: { steps: 10, cfg: 2 },
  promptPrefix: 'newest, extremely aesthetic, best quality,',
  negativePrompt: 'very displeasing, worst quality, monochrome, realistic, oldest',
};

/**
 * SoteDiffusion V2 at the pinned revision (docs/sotediffusion-v2-files.md §0): the four official-format single
 * files plus the tokenizer. Sizes are left out where only rounded values are published (the Content-Range
 * total is used); the two sha256 values not on record come from the hub at install time (tree API lfs.oid).
 * Package sizes per precision are the converter's figures (README "precision costs"); they do not include the
 * safety checker, whose bytes the install adds from its download (ViT-base fp32, about 343 MB).
 */
export const SOTEDIFFUSION_V2: ModelDescriptor = parseDescriptor({
  format: 'sote-model-descriptor',
  version: 1,
  id: 'sotediffusion-v2',
  name: 'SoteDiffusion V2',
  description: 'Anime finetune of Stable Cascade by Disty0 (faipl-1.0-sd licence). About 12 GB to download.',
  source: {
    kind: 'checkpoints',
    hub: DEFAULT_HUB,
    repo: 'Disty0/sotediffusion-v2',
    revision: 'bfdd545f894f0d32b63cd5e1adead49e5522a947',
    files: [
      { role: 'tokenizer', path: 'tokenizer/vocab.json' },
      { role: 'tokenizer', path: 'tokenizer/merges.txt' },
      { role: 'tokenizer', path: 'tokenizer/special_tokens_map.json' },
      { role: 'tokenizer', path: 'tokenizer/tokenizer_config.json' },
      { role: 'stage_a', path: 'stage_a_ft_hq.safetensors' },
      { role: 'clip_text', path: 'sotediffusion-v2-stage_c_text_encoder.safetensors' },
      { role: 'stage_b', path: 'sotediffusion-v2-stage_b.safetensors', sha256: '02139c3eaff76b043c59ec7485a93ebee23ee96d4e38ff2b9ca063e20808c2b1' },
      { role: 'stage_c', path: 'sotediffusion-v2-stage_c.safetensors', sha256: 'b4f582137f9f2562f8f378140cf01ded3aa81aedbde13e2b4bf9367e9fba23e5' },
    ],
    // No configs: the released sizes are recognised from tensor shapes (models/detect.ts presets).
    stageAScale: 0.43,
    // The hosted API's checker (spec §10.5), published only as config.json + preprocessor_config.json +
    // model.safetensors; converted to ONNX at install time (models/vit-classifier.ts). No commit id of this repo
    // is on record offline, so it follows "main"; its hashes come from the hub at install time (tree API: git
    // blob ids of the two JSON files, lfs.oid = sha256 of the weights).
    safetyChecker: {
      repo: 'Falconsai/nsfw_image_detection',
      revision: 'main',
      files: [{ path: 'config.json' }, { path: 'preprocessor_config.json' }, { path: 'model.safetensors' }],
    },
  },
  defaults: SOTE_DEFAULTS,
  sizes: { fp32: 21.64 * GiB, fp16: 10.83 * GiB, int8: 6.34 * GiB, int4: 3.67 * GiB },
  requirements: { gpuFeatures: ['shader-f16'], gpuMemoryBytes: 12 * GiB, maxBufferSizeBytes: GiB },
}, { url: 'built-in:sotediffusion-v2' });

/** The hosted `fal-ai/stable-cascade` defaults (spec §7.4; Stage B CFG 4 per two third-party copies of its schema). */
const STABLE_CASCADE_DEFAULTS = { width: 1024, height: 1024, stageC: { steps: 20, cfg: 4 }, stageB: { steps: 10, cfg: 4 } };

/** Pinned main heads of Stability's two repos (docs/sotediffusion-v2-files.md §0, §3, §4). */
export const STABLE_CASCADE_REVISION = 'a89f66d459ae653e3b4d4f992a7c3789d0dc4d16';
export const STABLE_CASCADE_PRIOR_REVISION = '143869a0d0dc97bfaadddbfce89aa7b8f3cb0d62';

/**
 * Stable Cascade as Stability AI published it, in the official single-file format (spec §9.1): Stage C / Stage B
 * in bf16 (big or lite) and Stage A from `stabilityai/stable-cascade`; the Stage C text encoder (bf16) and its
 * tokenizer from `stabilityai/stable-cascade-prior` (the prior pipeline's, which conditions Stage C; for the base
 * model it equals the decoder repo's copy, spec §2.6). Every file was re-uploaded in f2a8428 ("Updated
 * checkpoints with metadata") and no sha256 of those uploads is on record offline, so all hashes come from the
 * hub's tree API at install, as for SoteDiffusion's two unknown ones. The networks' shapes are recognised by
 * models/detect.ts (big: c_cond 2048 / level-1 width 640; lite: 1536 / 576). Big has SoteDiffusion's
 * architecture, so its package sizes are SoteDiffusion's; lite's are those scaled by the parameter count of the
 * three networks (2,424,916,128 / 5,846,704,608).
 */
function stableCascade(variant: 'big' | 'lite'): ModelDescriptor {
  const lite = variant === 'lite';
  const suffix = lite ? '_lite' : '';
  const prior = { repo: 'stabilityai/stable-cascade-prior', revision: STABLE_CASCADE_PRIOR_REVISION };
  const scale = lite ? 2_424_916_128 / 5_846_704_608 : 1;
  return parseDescriptor({
    format: 'sote-model-descriptor',
    version: 1,
    id: lite ? 'stable-cascade-lite' : 'stable-cascade',
    name: lite ? 'Stable Cascade lite' : 'Stable Cascade',
    description: lite
      ? 'Stability AI\'s Stable Cascade with the 1B Stage C and 700M Stage B (lower quality; Stability AI Non-Commercial Research Community License). About 5 GB to download.'
      : 'Stability AI\'s Stable Cascade (Würstchen v3; Stability AI Non-Commercial Research Community License). About 12 GB to download.',
    source: {
      kind: 'checkpoints',
      hub: DEFAULT_HUB,
      repo: 'stabilityai/stable-cascade',
      revision: STABLE_CASCADE_REVISION,
      files: [
        { role: 'tokenizer', path: 'tokenizer/vocab.json', ...prior },
        { role: 'tokenizer', path: 'tokenizer/merges.txt', ...prior },
        { role: 'tokenizer', path: 'tokenizer/special_tokens_map.json', ...prior },
        { role: 'tokenizer', path: 'tokenizer/tokenizer_config.json', ...prior },
        { role: 'stage_a', path: 'stage_a.safetensors' },
        { role: 'clip_text', path: 'text_encoder/model.bf16.safetensors', ...prior },
        { role: 'stage_b', path: `stage_b${suffix}_bf16.safetensors` },
        { role: 'stage_c', path: `stage_c${suffix}_bf16.safetensors` },
      ],
      stageAScale: 0.43,
      safetyChecker: SOTEDIFFUSION_V2.source.kind === 'checkpoints' ? SOTEDIFFUSION_V2.source.safetyChecker : undefined,
    },
    defaults: STABLE_CASCADE_DEFAULTS,
    sizes: { fp32: 21.64 * GiB * scale, fp16: 10.83 * GiB * scale, int8: 6.34 * GiB * scale, int4: 3.67 * GiB * scale },
    requirements: { gpuFeatures: ['shader-f16'], gpuMemoryBytes: (lite ? 5 : 12) * GiB, maxBufferSizeBytes: GiB },
  }, { url: `built-in:${lite ? 'stable-cascade-lite' : 'stable-cascade'}` });
}

/** Stable Cascade, big (3.6B Stage C, 1.5B Stage B): what `fal-ai/stable-cascade` answers with by default. */
export const STABLE_CASCADE: ModelDescriptor = stableCascade('big');
/** Stable Cascade lite (1B Stage C, 700M Stage B). */
export const STABLE_CASCADE_LITE: ModelDescriptor = stableCascade('lite');

/** The tiny random-weight demo, already converted and served by the app at /models/tiny-demo/. */
export function tinyDemoDescriptor(pageUrl: string = globalThis.location?.href ?? 'http://localhost/'): ModelDescriptor {
  return parseDescriptor({
    id: 'tiny-demo',
    name: 'Tiny demo (random weights)',
    description: 'A few MB of random weights in tiny configs: checks that everything runs; its images are noise patterns.',
    source: { kind: 'package', url: '/models/tiny-demo/' },
    defaults: { width: 256, height: 256, stageC: { steps: 2, cfg: 4 }, stageB: { steps: 2, cfg: 1.1 } },
    sizes: { fp32: 2 * 2 ** 20 },
    requirements: {},
  }, { url: pageUrl });
}

export const BUILT_IN_IDS = ['sotediffusion-v2', 'stable-cascade', 'stable-cascade-lite', 'tiny'] as const;

/** What the page's URL asks for. */
export type ModelChoice =
  | { kind: 'built-in'; descriptor: ModelDescriptor }
  | { kind: 'url'; url: string; hub?: string };

/** `?hub=` of a page URL, normalized; undefined when absent. */
export function hubFromUrl(pageUrl: string): string | undefined {
  const hub = new URL(pageUrl).searchParams.get('hub');
  if (hub === null || hub === '') return undefined;
  return withHubCheck(hub);
}

function withHubCheck(hub: string): string {
  // normalizeHub via withHub on a throwaway descriptor keeps one validation path.
  const d = withHub(SOTEDIFFUSION_V2, hub);
  return d.source.kind === 'checkpoints' ? d.source.hub : hub;
}

/**
 * Reads `?model=` and `?hub=`: a built-in (with the hub applied) or a descriptor URL to fetch with
 * `fetchDescriptor`. Unknown bare names are an error rather than a silent fallback.
 */
export function modelFromUrl(pageUrl: string, hubSetting?: string): ModelChoice {
  const u = new URL(pageUrl);
  const model = u.searchParams.get('model');
  const hub = hubFromUrl(pageUrl) ?? (hubSetting ? withHubCheck(hubSetting) : undefined);
  const apply = (d: ModelDescriptor) => (hub ? withHub(d, hub) : d);
  if (model === null || model === '' || model === 'sotediffusion-v2') return { kind: 'built-in', descriptor: apply(SOTEDIFFUSION_V2) };
  if (model === 'stable-cascade') return { kind: 'built-in', descriptor: apply(STABLE_CASCADE) };
  if (model === 'stable-cascade-lite') return { kind: 'built-in', descriptor: apply(STABLE_CASCADE_LITE) };
  if (model === 'tiny' || model === 'tiny-demo') return { kind: 'built-in', descriptor: tinyDemoDescriptor(pageUrl) };
  if (/^[a-z0-9][a-z0-9._-]*$/.test(model) && !model.endsWith('.json')) {
    throw new DescriptorError(`?model=${model}`, [`"${model}" is not a built-in model (${BUILT_IN_IDS.join(', ')}) nor a descriptor URL`]);
  }
  return { kind: 'url', url: new URL(model, pageUrl).href, ...(hub ? { hub } : {}) };
}

/** Fetches and validates a descriptor (a relative package URL resolves against the descriptor's URL). */
export async function fetchDescriptor(url: string, hub?: string, fetchImpl: typeof fetch = fetch): Promise<ModelDescriptor> {
  let res: Response;
  try {
    res = await fetchImpl(url, { credentials: 'omit' });
  } catch (e) {
    throw new DescriptorError(url, [`could not be fetched (${(e as Error).message})`]);
  }
  if (!res.ok) throw new DescriptorError(url, [`HTTP ${res.status} ${res.statusText}`]);
  return parseDescriptor(await res.text(), { url, ...(hub ? { hub } : {}) });
}
