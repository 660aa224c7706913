/**
 * The built-in models and how the page picks one from its URL:
 * - `?model=tiny` → the tiny demo package; `?model=sotediffusion-v2` (or no parameter) → SoteDiffusion V2;
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
  sizes: { fp32: 21.64 * GiB, fp16: 10.83 * GiB, int8: 6.18 * GiB, int4: 3.51 * GiB },
  requirements: { gpuFeatures: ['shader-f16'], gpuMemoryBytes: 12 * GiB, maxBufferSizeBytes: GiB },
}, { url: 'built-in:sotediffusion-v2' });

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

export const BUILT_IN_IDS = ['sotediffusion-v2', 'tiny'] as const;

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
