/**
 * A tiny model in SoteDiffusion V2's published hub layout, shared by the store e2e tests (store-install,
 * store-ui): F16 checkpoints (F32 Stage A) built from the demo configs and randomWeightSource, tokenizer files,
 * `<repo>/resolve/<revision>/<file>` and the tree API listing, plus the matching descriptor. Optionally a
 * safety checker in Falconsai/nsfw_image_detection's published layout (config.json, preprocessor_config.json,
 * F32 model.safetensors) under a repo of its own: the tiny ViT of src/models/tiny-classifier.ts, whose
 * P(nsfw) = sigmoid(8·(mean pixel_value − threshold)) is known by construction.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelKind } from '../../src/models/checkpoint-source.ts';
import { DEMO_COMPONENTS, demoVocab, randomWeightSource } from '../../src/models/demo-model.ts';
import { buildModel } from '../../src/models/registry.ts';
import { float32ArrayToFloat16 } from '../../src/weights/float16.ts';
import { tinyNsfwPublishedFiles } from '../../src/models/tiny-classifier.ts';
import { encodeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer.ts';

export const REVISION = '0123456789abcdef0123456789abcdef01234567';
export const FILE_NAMES: Record<ModelKind, string> = {
  clip_text: 'sotediffusion-v2-stage_c_text_encoder.safetensors',
  stage_c: 'sotediffusion-v2-stage_c.safetensors',
  stage_b: 'sotediffusion-v2-stage_b.safetensors',
  stage_a: 'stage_a_ft_hq.safetensors',
};
export const ORDER: ModelKind[] = ['stage_a', 'clip_text', 'stage_b', 'stage_c'];

export interface Fixture {
  path: string;
  role: ModelKind | 'tokenizer' | 'safety_checker';
  bytes: Uint8Array;
  sha256: string;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Uint8Array) => createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b])).digest('hex');

/** The tiny model as the hub would publish it: F16 checkpoints (F32 Stage A), official/HF tensor names. */
export async function buildFixture(): Promise<Fixture[]> {
  const out: Fixture[] = [];
  let seed = 900;
  for (const kind of ORDER) {
    const model = DEMO_COMPONENTS.find((m) => m.kind === kind)!;
    const weights = randomWeightSource(buildModel(model).expected, seed++);
    const tensors: Record<string, TensorToWrite> = {};
    for (const name of weights.names()) {
      const t = weights.get(name)!;
      const data = await t.read();
      tensors[name] = kind === 'stage_a' ? { dtype: 'F32', shape: t.shape, data } : { dtype: 'F16', shape: t.shape, data: float32ArrayToFloat16(data) };
    }
    const bytes = encodeSafetensors(tensors, { 'modelspec.title': `tiny ${kind}` });
    out.push({ path: FILE_NAMES[kind], role: kind, bytes, sha256: sha256(bytes) });
  }
  const enc = new TextEncoder();
  for (const [name, text] of [['vocab.json', JSON.stringify(demoVocab())], ['merges.txt', '#version: 0.2\n']] as const) {
    const bytes = enc.encode(text);
    out.push({ path: `tokenizer/${name}`, role: 'tokenizer', bytes, sha256: sha256(bytes) });
  }
  return out;
}

/**
 * The tiny classifier as Falconsai publishes a ViT (the three files the store converts). `threshold` in
 * pixel_value units moves its decision: −1.25 flags every image (the mean pixel_value is ≥ −1), +1.25 none.
 */
export async function buildSafetyFixture(threshold: number): Promise<Fixture[]> {
  return [...await tinyNsfwPublishedFiles(threshold)].map(([path, bytes]) => ({ path, role: 'safety_checker', bytes, sha256: sha256(bytes) }));
}

/** Writes files as `<repo>/resolve/<REVISION>/<path>` plus the tree API listing (.safetensors as LFS files). */
export async function publish(root: string, repo: string, files: Fixture[], corrupt?: { path: string; at: number }): Promise<void> {
  const tree = [];
  for (const f of files) {
    const bytes = Uint8Array.from(f.bytes);
    if (corrupt?.path === f.path) bytes[corrupt.at] ^= 0x01;
    const file = join(root, repo, 'resolve', REVISION, f.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
    tree.push(!f.path.endsWith('.safetensors')
      ? { type: 'file', path: f.path, oid: gitSha1(f.bytes), size: f.bytes.length }
      : { type: 'file', path: f.path, oid: gitSha1(new TextEncoder().encode('pointer')), size: 135, lfs: { oid: f.sha256, size: f.bytes.length, pointerSize: 135 } });
  }
  const api = join(root, 'api/models', repo, 'tree', REVISION);
  await mkdir(dirname(api), { recursive: true });
  await writeFile(api, JSON.stringify(tree));
}

export interface SafetyFixture {
  /** The checker's repo on the same hub (published with `publish`). */
  repo: string;
  files: Fixture[];
  /**
   * 'all': size + sha256 of every file in the descriptor. 'some' (default): config.json has both,
   * preprocessor_config.json neither (tree API git blob id), model.safetensors its size only (tree API lfs.oid).
   */
  hashes?: 'all' | 'some';
}

/**
 * The descriptor of the local hub: tiny configs, every sha256 given except merges.txt's (that one comes from
 * the tree API as a git blob id, like a small git file on huggingface.co); with `safety`, its safetyChecker
 * block (revision REVISION: the local hub publishes every repo at that commit).
 */
export function descriptor(hub: string, repo: string, id: string, files: Fixture[], safety?: SafetyFixture) {
  const configs: Record<string, unknown> = {};
  for (const m of DEMO_COMPONENTS) configs[m.kind] = m.kind === 'clip_text' ? { ...m.config, architectures: ['CLIPTextModelWithProjection'] } : m.config;
  return {
    format: 'sote-model-descriptor',
    version: 1,
    id,
    name: `Tiny published-layout model (${id})`,
    source: {
      kind: 'checkpoints',
      hub,
      repo,
      revision: REVISION,
      files: files.map((f) => (f.path === 'tokenizer/merges.txt' ? { role: f.role, path: f.path } : { role: f.role, path: f.path, size: f.bytes.length, sha256: f.sha256 })),
      configs,
      stageAScale: 0.43,
      ...(safety
        ? {
          safetyChecker: {
            repo: safety.repo,
            revision: REVISION,
            files: safety.files.map((f) => {
              if (safety.hashes === 'all' || f.path === 'config.json') return { path: f.path, size: f.bytes.length, sha256: f.sha256 };
              return f.path.endsWith('.safetensors') ? { path: f.path, size: f.bytes.length } : { path: f.path };
            }),
          },
        }
        : {}),
    },
    defaults: { width: 256, height: 256, stageC: { steps: 2, cfg: 4 }, stageB: { steps: 2, cfg: 1.1 } },
    sizes: { fp32: 2 * 2 ** 20 },
  };
}
