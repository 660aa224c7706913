/**
 * `npm run fixture:full -- --to <dir> [--seed N] [--scale full|small] [--hub <origin>]`
 *
 * Writes a random-weight SoteDiffusion V2 in its published hub layout, for the scale benchmark (scripts/scale.ts)
 * and anyone who wants the released sizes without the download:
 *   <dir>/hub/Disty0/sotediffusion-v2/resolve/<REVISION>/{the four single files, tokenizer/*}
 *   <dir>/hub/Falconsai/nsfw_image_detection/resolve/<REVISION>/{config.json, preprocessor_config.json, model.safetensors}
 *   <dir>/hub/api/models/<repo>/tree/<REVISION>   (the tree API listing: git blob ids, lfs.oid = sha256)
 *   <dir>/descriptor.json                          (a sote-model-descriptor; `source.hub` = --hub, rewrite it to serve)
 *   <dir>/fixture.json                             (what was written: sizes, sha256, parameter counts, seed, rule)
 * Tensor names, shapes and dtypes are the released ones (src/models/released-files.ts, which also states the
 * initialisation rule). Every file is streamed (a few MiB in memory) and the same seed gives the same bytes.
 * 'full' (default) needs the public CLIP tokenizer files from ../shared/golden/clip (SOTE_GOLDEN_DIR) and about
 * 12.2 GB of disk; 'small' uses the demo configs and the demo tokenizer (a few MB, seconds).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fixtureInit, releasedFileSpecs, specParameterCount, tensorValues, unetKwargs, type FixtureScale } from '../src/models/released-files.ts';
import { demoVocab } from '../src/models/demo-model.ts';
import { vitPreprocessorConfig } from '../src/models/tiny-classifier.ts';
import { buildViTForImageClassification, vitConfigJson, vitParameterCount, type ViTClassifierConfig } from '../src/models/vit-classifier.ts';
import { writeSafetensorsFile } from '../src/weights/safetensors-file-writer.ts';
import type { TensorSpec } from '../src/weights/safetensors-writer.ts';

export const FIXTURE_REVISION = 'f1c7a2e0000000000000000000000000000000a9';
export const FIXTURE_REPO = 'Disty0/sotediffusion-v2';
export const FIXTURE_SAFETY_REPO = 'Falconsai/nsfw_image_detection';

/** ViT-base (google/vit-base-patch16-224 = Falconsai/nsfw_image_detection's size) and a tiny one for 'small'. */
const VIT: Record<FixtureScale, ViTClassifierConfig> = {
  full: {
    image_size: 224, patch_size: 16, num_channels: 3, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12,
    intermediate_size: 3072, hidden_act: 'gelu', layer_norm_eps: 1e-12, qkv_bias: true, labels: ['normal', 'nsfw'],
  },
  small: {
    image_size: 32, patch_size: 16, num_channels: 3, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
    intermediate_size: 32, hidden_act: 'gelu', layer_norm_eps: 1e-12, qkv_bias: true, labels: ['normal', 'nsfw'],
  },
};

/** The released tokenizer's two small JSON files (docs/sotediffusion-v2-files.md §1.4). */
const SPECIAL_TOKENS = {
  bos_token: { content: '<|startoftext|>', lstrip: false, normalized: true, rstrip: false, single_word: false },
  eos_token: { content: '<|endoftext|>', lstrip: false, normalized: false, rstrip: false, single_word: false },
  pad_token: { content: '<|endoftext|>', lstrip: false, normalized: false, rstrip: false, single_word: false },
  unk_token: { content: '<|endoftext|>', lstrip: false, normalized: false, rstrip: false, single_word: false },
};

export class FixtureInputMissingError extends Error {
  override name = 'FixtureInputMissingError';
}

export interface FixtureFile {
  repo: string;
  path: string;
  role: string;
  bytes: number;
  sha256: string;
  parameters?: number;
  dtype?: string;
}

export interface FixtureSummary {
  scale: FixtureScale;
  seed: number;
  revision: string;
  files: FixtureFile[];
  totalBytes: number;
  seconds: number;
}

export interface FixtureOptions {
  to: string;
  seed?: number;
  scale?: FixtureScale;
  hub?: string;
  goldenDir?: string;
  log?: (line: string) => void;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Uint8Array) => createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b])).digest('hex');

export async function writeFixture(options: FixtureOptions): Promise<FixtureSummary> {
  const scale = options.scale ?? 'full';
  const seed = options.seed ?? 0;
  const log = options.log ?? (() => {});
  const root = resolve(options.to);
  const hubDir = join(root, 'hub');
  const started = performance.now();
  const files: FixtureFile[] = [];
  const fileIn = (repo: string, path: string) => join(hubDir, repo, 'resolve', FIXTURE_REVISION, path);
  const small = async (repo: string, path: string, role: string, bytes: Uint8Array) => {
    const file = fileIn(repo, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
    files.push({ repo, path, role, bytes: bytes.byteLength, sha256: sha256(bytes) });
  };
  const streamed = async (repo: string, path: string, role: string, tensors: TensorSpec[], rule: (t: TensorSpec) => ReturnType<typeof fixtureInit>, metadata: Record<string, string>, override?: (t: TensorSpec, out: Float32Array) => void) => {
    const file = fileIn(repo, path);
    await mkdir(dirname(file), { recursive: true });
    const t0 = performance.now();
    let current = '';
    let fill: (out: Float32Array) => void = () => {};
    const written = await writeSafetensorsFile(file, tensors, (t, start, out) => {
      if (start === 0 || t.name !== current) {
        current = t.name;
        fill = tensorValues(seed, t.name, rule(t));
      }
      fill(out);
      override?.(t, out);
    }, metadata);
    const parameters = tensors.reduce((a, t) => a + t.shape.reduce((x, d) => x * d, 1), 0);
    files.push({ repo, path, role, bytes: written.bytes, sha256: written.sha256, parameters, dtype: tensors[0]?.dtype });
    log(`${path}: ${parameters.toLocaleString('en-US')} values, ${(written.bytes / 1e9).toFixed(3)} GB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  // Tokenizer: the public CLIP vocab at full size (49,408 tokens), the demo's byte vocab for the demo configs.
  const enc = new TextEncoder();
  if (scale === 'full') {
    const clipDir = join(options.goldenDir ?? resolve(process.env.SOTE_GOLDEN_DIR ?? join(import.meta.dirname, '../../shared/golden')), 'clip');
    for (const name of ['vocab.json', 'merges.txt']) {
      const p = join(clipDir, name);
      if (!existsSync(p)) throw new FixtureInputMissingError(`${p} not found: the full fixture's tokenizer comes from the public CLIP files in the golden folder (set SOTE_GOLDEN_DIR, or use --scale small)`);
      await small(FIXTURE_REPO, `tokenizer/${name}`, 'tokenizer', new Uint8Array(await readFile(p)));
    }
  } else {
    await small(FIXTURE_REPO, 'tokenizer/vocab.json', 'tokenizer', enc.encode(JSON.stringify(demoVocab())));
    await small(FIXTURE_REPO, 'tokenizer/merges.txt', 'tokenizer', enc.encode('#version: 0.2\n'));
  }
  await small(FIXTURE_REPO, 'tokenizer/special_tokens_map.json', 'tokenizer', enc.encode(JSON.stringify(SPECIAL_TOKENS, null, 2)));
  await small(FIXTURE_REPO, 'tokenizer/tokenizer_config.json', 'tokenizer', enc.encode(JSON.stringify({
    model_max_length: 77, bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', unk_token: '<|endoftext|>', tokenizer_class: 'CLIPTokenizer',
  }, null, 2)));

  const specs = releasedFileSpecs(scale);
  for (const spec of specs) {
    const unet = unetKwargs(spec.model);
    await streamed(FIXTURE_REPO, spec.path, spec.kind, spec.tensors, (t) => fixtureInit(t.name, t.shape, unet), spec.metadata);
  }

  // The safety checker in Falconsai/nsfw_image_detection's layout (F32 model.safetensors).
  const vit = VIT[scale];
  const vitTensors: TensorSpec[] = [...buildViTForImageClassification(vit).expected].map(([name, shape]) => ({ name, dtype: 'F32', shape }));
  await small(FIXTURE_SAFETY_REPO, 'config.json', 'safety_checker', enc.encode(JSON.stringify(vitConfigJson(vit), null, 2)));
  await small(FIXTURE_SAFETY_REPO, 'preprocessor_config.json', 'safety_checker', enc.encode(JSON.stringify(vitPreprocessorConfig(vit.image_size), null, 2)));
  // classifier.bias = [+4, −4] (normal, nsfw): random features give logits of about N(0, 1), so the checker never
  // flags (a flagged image is blacked out, and the benchmark could no longer see whether the latents were finite).
  await streamed(FIXTURE_SAFETY_REPO, 'model.safetensors', 'safety_checker', vitTensors, (t) => (t.name === 'classifier.bias' ? { mean: 4, std: 0 } : fixtureInit(t.name, t.shape)), { format: 'pt' }, (t, out) => {
    if (t.name === 'classifier.bias') out.set(vit.labels.map((l) => (l === 'nsfw' ? -4 : 4)));
  });
  const vitFile = files[files.length - 1];
  if (vitFile.parameters !== vitParameterCount(vit)) throw new Error(`ViT fixture holds ${vitFile.parameters} values, expected ${vitParameterCount(vit)}`);

  // Tree API listings (git blob id for small files; LFS pointer + sha256 for .safetensors, as huggingface.co).
  for (const repo of [FIXTURE_REPO, FIXTURE_SAFETY_REPO]) {
    const tree = [];
    for (const f of files.filter((x) => x.repo === repo)) {
      if (f.path.endsWith('.safetensors')) {
        tree.push({ type: 'file', path: f.path, oid: gitSha1(enc.encode(`oid sha256:${f.sha256}`)), size: 135, lfs: { oid: f.sha256, size: f.bytes, pointerSize: 135 } });
      } else {
        tree.push({ type: 'file', path: f.path, oid: gitSha1(new Uint8Array(await readFile(fileIn(repo, f.path)))), size: f.bytes });
      }
    }
    const api = join(hubDir, 'api/models', repo, 'tree', FIXTURE_REVISION);
    await mkdir(dirname(api), { recursive: true });
    await writeFile(api, JSON.stringify(tree));
  }

  const modelFiles = files.filter((f) => f.repo === FIXTURE_REPO);
  const totalParams = specs.reduce((a, s) => a + specParameterCount(s), 0);
  const descriptor = {
    format: 'sote-model-descriptor',
    version: 1,
    id: `sote-fixture-${scale}`,
    name: `SoteDiffusion V2 layout, random weights (${scale}, seed ${seed})`,
    description: `Random-weight fixture from npm run fixture:full (${totalParams.toLocaleString('en-US')} parameters); images are noise patterns.`,
    source: {
      kind: 'checkpoints',
      hub: options.hub ?? 'http://127.0.0.1:8089',
      repo: FIXTURE_REPO,
      revision: FIXTURE_REVISION,
      // Every size and sha256 is known here, except merges.txt's hash, which the install takes from the tree API.
      files: modelFiles.map((f) => (f.path === 'tokenizer/merges.txt' ? { role: f.role, path: f.path } : { role: f.role, path: f.path, size: f.bytes, sha256: f.sha256 })),
      // Full size: no configs, the released shapes are recognised (models/detect.ts), as for the real model.
      ...(scale === 'small' ? { configs: Object.fromEntries(specs.map((s) => [s.kind, s.model.kind === 'clip_text' ? { ...s.model.config, architectures: ['CLIPTextModelWithProjection'] } : s.model.config])) } : {}),
      stageAScale: 0.43,
      safetyChecker: {
        repo: FIXTURE_SAFETY_REPO,
        revision: FIXTURE_REVISION,
        files: files.filter((f) => f.repo === FIXTURE_SAFETY_REPO).map((f) => ({ path: f.path, size: f.bytes, sha256: f.sha256 })),
      },
    },
    defaults: { width: 256, height: 256, stageC: { steps: 4, cfg: 4 }, stageB: { steps: 4, cfg: 1.1 } },
    // Converted package bytes per precision (fp32 4 B/param; fp16 2; int8/int4 as the converter's figures for
    // the released model scale them: 6.34/21.64 and 3.67/21.64 of fp32).
    sizes: { fp32: totalParams * 4, fp16: totalParams * 2, int8: Math.ceil(totalParams * 4 * 6.34 / 21.64), int4: Math.ceil(totalParams * 4 * 3.67 / 21.64) },
  };
  await writeFile(join(root, 'descriptor.json'), JSON.stringify(descriptor, null, 2));
  const summary: FixtureSummary = {
    scale, seed, revision: FIXTURE_REVISION, files,
    totalBytes: files.reduce((a, f) => a + f.bytes, 0),
    seconds: (performance.now() - started) / 1000,
  };
  await writeFile(join(root, 'fixture.json'), JSON.stringify({ ...summary, rule: 'src/models/released-files.ts (file comment)' }, null, 2));
  return summary;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { to: { type: 'string' }, seed: { type: 'string' }, scale: { type: 'string' }, hub: { type: 'string' } },
  });
  if (!values.to) throw new Error('usage: npm run fixture:full -- --to <dir> [--seed N] [--scale full|small] [--hub <origin>]');
  const scale = (values.scale ?? 'full') as FixtureScale;
  if (scale !== 'full' && scale !== 'small') throw new Error(`--scale must be full or small, not ${values.scale}`);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, not ${values.seed}`);
  const s = await writeFixture({ to: values.to, seed, scale, hub: values.hub, log: (l) => console.log(l) });
  console.log(`fixture (${s.scale}, seed ${s.seed}): ${s.files.length} files, ${(s.totalBytes / 1e9).toFixed(2)} GB in ${s.seconds.toFixed(0)} s → ${resolve(values.to)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    process.exit(1);
  });
}
