/**
 * Model descriptors: everything the store needs to install a model — where its files are, how to check them,
 * how to convert them, and what it costs.
 *
 * ## Descriptor format (JSON; `?model=<url>` loads one)
 *
 * ```jsonc
 * {
 *   "format": "sote-model-descriptor", "version": 1,
 *   "id": "sotediffusion-v2",              // [a-z0-9][a-z0-9._-]*, the store key (with the precision)
 *   "name": "SoteDiffusion V2",            // shown to users
 *   "description": "…",                    // optional
 *   "source": {                            // either published checkpoints on a hub …
 *     "kind": "checkpoints",
 *     "hub": "https://huggingface.co",     // optional (this default); `?hub=` / the hub setting override it
 *     "repo": "Disty0/sotediffusion-v2",
 *     "revision": "bfdd545f…",             // a full 40-hex commit id: resolve URLs at a commit never change
 *     "files": [                           // fetched as <hub>/<repo>/resolve/<revision>/<path>
 *       { "role": "stage_c", "path": "sotediffusion-v2-stage_c.safetensors", "size": 7178349464, "sha256": "b4f5…" },
 *       { "role": "tokenizer", "path": "tokenizer/vocab.json" },  // size/sha256 optional (see below)
 *       { "role": "clip_text", "path": "text_encoder/model.bf16.safetensors",   // from another repo of the same
 *         "repo": "stabilityai/stable-cascade-prior", "revision": "143869a0…" } // hub: both given, or neither
 *     ],
 *     "configs": { "stage_c": { "class": "StageC", "kwargs": { … } } },  // optional per role; else detected
 *     "stageAScale": 0.43,
 *     "safetyChecker": {                   // optional: the image classifier installed with the model
 *       "repo": "Falconsai/nsfw_image_detection",
 *       "revision": "main",                // a commit id when one is known (see below)
 *       "files": [                         // fetched as <hub>/<repo>/resolve/<revision>/<path>, same hub
 *         { "path": "config.json" }, { "path": "preprocessor_config.json" },
 *         { "path": "model.safetensors", "size": …, "sha256": "…" }   // size/sha256 optional, as above
 *       ]
 *     }
 *   },
 *   // … or an already converted package (manifest.json + files), e.g. the tiny demo:
 *   // "source": { "kind": "package", "url": "/models/tiny-demo/" }   (relative to the descriptor's URL)
 *   "defaults": { "width": 1024, "height": 1536, "stageC": { "steps": 25, "cfg": 8 }, "stageB": { "steps": 10, "cfg": 2 },
 *                 "promptPrefix": "…", "negativePrompt": "…" },
 *   "sizes": { "fp32": 22e9, "fp16": 11e9 },   // approximate converted package bytes per precision
 *   "requirements": { "gpuFeatures": ["shader-f16"], "gpuMemoryBytes": 9e9, "maxBufferSizeBytes": 1073741824 }
 * }
 * ```
 *
 * Roles: `clip_text`, `stage_c`, `stage_b`, `stage_a` (one or more .safetensors each — diffusers shards share a
 * role) and `tokenizer` (vocab.json, merges.txt, tokenizer.json, …; copied into the package under tokenizer/ by
 * base name). Every checkpoint role needs at least one file; `tokenizer` needs vocab.json + merges.txt or
 * tokenizer.json.
 *
 * Verification: a file's sha256 comes from the descriptor if given, otherwise from the hub (the LFS oid in the
 * X-Linked-Etag header when the browser can read it, else the hub's tree API `lfs.oid`; small git files are
 * checked against the tree API's git blob id). A file nobody can vouch for is not installed.
 *
 * Safety checker (`source.safetyChecker`, optional): a Hugging Face ViTForImageClassification repo as published
 * (exactly one config.json, one preprocessor_config.json and one .safetensors; its id2label must contain
 * "nsfw"), on the same hub as the checkpoints. The store downloads and verifies its files like every other file
 * (descriptor sha256, else the hub's headers or tree API of *that* repo), converts them with our ViT compiler
 * (models/vit-classifier.ts) into the transformers.js layout and stores them in the package under `safety/`;
 * the generator worker loads it from there for `enable_safety_checker: true` (and never otherwise). Its bytes
 * are not part of `sizes` (which describe the converted networks): the install adds them from the download
 * sizes. A branch name such as "main" is allowed here but a commit id is better — with a branch, a file that
 * changes upstream between two attempts fails verification once and is fetched again.
 *
 * `configs` values are the official `{"class","kwargs"}` configs (Stage C/B/A) or a Hugging Face
 * CLIPTextModelWithProjection config.json; a role without a config is recognised from its tensor shapes
 * (released sizes only — models/detect.ts).
 *
 * Stage A scale: the latent multiplier applied before the Stage A decoder. The official-format single files
 * (`stage_a_ft_hq.safetensors` with `vquantizer.codebook.weight`) are used by Stability's and ComfyUI's code,
 * which multiply Stage B's output by 0.43 — Stage B was trained on `stage_a.encode(x) = features / 0.43`. The
 * diffusers `vqgan/config.json` says 0.3764 (inherited from Würstchen v2), 12.5 % smaller; that is the
 * diffusers pipeline's choice, not the training setup. So descriptors of official-format files use 0.43.
 */
import { z } from 'zod';
import type { ModelKind } from '../models/checkpoint-source.ts';
import type { Precision } from '../models/model-context.ts';
import { DescriptorError } from './errors.ts';

export const DESCRIPTOR_FORMAT = 'sote-model-descriptor';
export const DESCRIPTOR_VERSION = 1;
export const DEFAULT_HUB = 'https://huggingface.co';

export type FileRole = ModelKind | 'tokenizer';
/** Roles of downloaded files: the descriptor's file roles plus the safety checker's files. */
export type DownloadRole = FileRole | 'safety_checker';
export const FILE_ROLES: readonly FileRole[] = ['clip_text', 'stage_c', 'stage_b', 'stage_a', 'tokenizer'];
export const CHECKPOINT_ROLES: readonly ModelKind[] = ['clip_text', 'stage_c', 'stage_b', 'stage_a'];

export interface DescriptorFile {
  role: FileRole;
  /** Path inside the repo (forward slashes, no leading slash, no `..`). */
  path: string;
  /** Exact byte size, when known. */
  size?: number;
  /** Lower-case hex sha256 (the LFS oid), when known. */
  sha256?: string;
  /**
   * Another repo on the same hub holding this file (e.g. Stable Cascade's Stage C text encoder and tokenizer,
   * which belong to the prior repo), with its own pinned revision; absent = the source's repo and revision.
   */
  from?: { repo: string; revision: string };
}

/** A JSON value (configs are validated later, by parseModelConfig, when the component is built). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One file of the safety checker repo. */
export interface SafetyCheckerFile {
  /** Path inside the checker repo (forward slashes, no leading slash, no `..`). */
  path: string;
  size?: number;
  /** Lower-case hex sha256, when known. */
  sha256?: string;
}

/** The image classifier installed with the model (see the module comment). Fetched from the source's hub. */
export interface SafetyCheckerSource {
  /** e.g. "Falconsai/nsfw_image_detection". */
  repo: string;
  revision: string;
  /** Exactly one config.json, one preprocessor_config.json, one .safetensors (validated). */
  files: SafetyCheckerFile[];
}

export interface CheckpointSource {
  kind: 'checkpoints';
  /** Hub base URL without trailing slash. */
  hub: string;
  repo: string;
  revision: string;
  files: DescriptorFile[];
  configs: Partial<Record<ModelKind, JsonValue>>;
  stageAScale: number;
  safetyChecker?: SafetyCheckerSource;
}

/** Where a repo's files are fetched from: `<hub>/<repo>/resolve/<revision>/<path>`. */
export type HubRepo = Pick<CheckpointSource, 'hub' | 'repo' | 'revision'>;

export interface PackageSource {
  kind: 'package';
  /** Absolute URL of the package folder (with trailing slash) once parsed. */
  url: string;
}

export interface SamplingDefaults {
  width: number;
  height: number;
  stageC: { steps: number; cfg: number };
  stageB: { steps: number; cfg: number };
  promptPrefix?: string;
  negativePrompt?: string;
}

export interface ModelRequirements {
  /** WebGPU features the recommended precision needs (e.g. shader-f16 for fp16). */
  gpuFeatures: string[];
  /** Approximate device memory for the fp16 package with every stage resident. */
  gpuMemoryBytes?: number;
  /** Largest single buffer the graphs need (compare with adapter.limits.maxBufferSize). */
  maxBufferSizeBytes?: number;
}

export interface ModelDescriptor {
  id: string;
  name: string;
  description?: string;
  source: CheckpointSource | PackageSource;
  defaults: SamplingDefaults;
  /** Approximate converted package bytes per precision (storage needs; used by the quota check). */
  sizes: Partial<Record<Precision, number>>;
  requirements: ModelRequirements;
}

const HEX64 = /^[0-9a-f]{64}$/;
const steps = z.object({ steps: z.number().int().min(1).max(200), cfg: z.number().min(0).max(50) }).strict();
const repoPath = z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '' || s === '.'), 'must be a relative path without "." or ".." segments');
const sha256Hex = z.string().transform((s) => s.toLowerCase()).refine((s) => HEX64.test(s), 'must be 64 hex digits');
const repoId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be "owner/name"');
const revision = z.string().min(1).refine((r) => !r.includes('/') || /^refs\//.test(r), 'must be a commit id, a branch or a tag');
const jsonValue: z.ZodType<JsonValue> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]));

const schema = z.object({
  format: z.literal(DESCRIPTOR_FORMAT).optional(),
  version: z.literal(DESCRIPTOR_VERSION).optional(),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1–64 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  source: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('checkpoints'),
      hub: z.string().optional(),
      repo: repoId,
      revision,
      files: z.array(z.object({
        role: z.enum(['clip_text', 'stage_c', 'stage_b', 'stage_a', 'tokenizer']),
        path: repoPath,
        size: z.number().int().nonnegative().optional(),
        sha256: sha256Hex.optional(),
        repo: repoId.optional(),
        revision: revision.optional(),
      }).strict().refine((f) => (f.repo === undefined) === (f.revision === undefined), 'a file from another repo needs both repo and revision')).min(1),
      configs: z.partialRecord(z.enum(['clip_text', 'stage_c', 'stage_b', 'stage_a']), jsonValue).optional(),
      stageAScale: z.number().positive().max(10).optional(),
      safetyChecker: z.object({
        repo: repoId,
        revision,
        files: z.array(z.object({
          path: repoPath,
          size: z.number().int().nonnegative().optional(),
          sha256: sha256Hex.optional(),
        }).strict()).min(1),
      }).strict().optional(),
    }).strict(),
    z.object({ kind: z.literal('package'), url: z.string().min(1) }).strict(),
  ]),
  defaults: z.object({
    width: z.number().int().min(64).max(4096),
    height: z.number().int().min(64).max(4096),
    stageC: steps,
    stageB: steps,
    promptPrefix: z.string().optional(),
    negativePrompt: z.string().optional(),
  }).strict(),
  sizes: z.partialRecord(z.enum(['fp32', 'fp16', 'int8', 'int4']), z.number().nonnegative()).optional(),
  requirements: z.object({
    gpuFeatures: z.array(z.string()).optional(),
    gpuMemoryBytes: z.number().nonnegative().optional(),
    maxBufferSizeBytes: z.number().nonnegative().optional(),
  }).strict().optional(),
}).strict();

/** Hub base URL: http(s), no query/fragment, no trailing slash. */
export function normalizeHub(hub: string, where = 'hub'): string {
  let u: URL;
  try {
    u = new URL(hub);
  } catch {
    throw new DescriptorError(where, [`hub "${hub}" is not an absolute URL`]);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new DescriptorError(where, [`hub "${hub}" must be http(s)`]);
  if (u.search || u.hash || u.username || u.password) throw new DescriptorError(where, [`hub "${hub}" must not carry a query, fragment or credentials`]);
  return u.href.replace(/\/+$/, '');
}

export interface ParseOptions {
  /** Where the JSON came from (error messages; base for a relative package URL). */
  url?: string;
  /** Replaces the descriptor's hub (the `?hub=` parameter / hub setting). */
  hub?: string;
}

/**
 * Validates a descriptor (already JSON-parsed, or JSON text) and fills defaults. Every problem is reported at
 * once, each with its field path.
 */
export function parseDescriptor(input: unknown, options: ParseOptions = {}): ModelDescriptor {
  const where = options.url ?? 'descriptor';
  let raw = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new DescriptorError(where, [`not valid JSON (${(e as Error).message})`]);
    }
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new DescriptorError(where, r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`));
  }
  const d = r.data;
  const common = {
    id: d.id,
    name: d.name,
    ...(d.description !== undefined ? { description: d.description } : {}),
    defaults: d.defaults,
    sizes: d.sizes ?? {},
    requirements: { gpuFeatures: d.requirements?.gpuFeatures ?? [], gpuMemoryBytes: d.requirements?.gpuMemoryBytes, maxBufferSizeBytes: d.requirements?.maxBufferSizeBytes },
  };
  if (d.source.kind === 'package') {
    let url: string;
    try {
      url = new URL(d.source.url, options.url ?? globalThis.location?.href).href;
    } catch {
      throw new DescriptorError(where, [`source.url: "${d.source.url}" is not a URL (a relative URL needs the descriptor's own URL)`]);
    }
    return { ...common, source: { kind: 'package', url: url.endsWith('/') ? url : `${url}/` } };
  }
  const s = d.source;
  const problems: string[] = [];
  for (const role of CHECKPOINT_ROLES) {
    if (!s.files.some((f) => f.role === role)) problems.push(`source.files: no ${role} file`);
  }
  const tok = s.files.filter((f) => f.role === 'tokenizer').map((f) => baseName(f.path));
  if (!tok.includes('tokenizer.json') && !(tok.includes('vocab.json') && tok.includes('merges.txt'))) {
    problems.push('source.files: the tokenizer needs vocab.json + merges.txt or tokenizer.json');
  }
  const paths = new Set<string>();
  for (const f of s.files) {
    const key = `${f.repo ?? s.repo}/${f.path}`;
    if (paths.has(key)) problems.push(`source.files: ${f.path} is listed twice`);
    paths.add(key);
  }
  if (s.safetyChecker) problems.push(...safetyCheckerProblems(s.safetyChecker.files));
  if (problems.length) throw new DescriptorError(where, problems);
  const files: DescriptorFile[] = s.files.map((f) => ({
    role: f.role,
    path: f.path,
    ...(f.size !== undefined ? { size: f.size } : {}),
    ...(f.sha256 !== undefined ? { sha256: f.sha256 } : {}),
    ...(f.repo !== undefined && f.revision !== undefined ? { from: { repo: f.repo, revision: f.revision } } : {}),
  }));
  return {
    ...common,
    source: {
      kind: 'checkpoints',
      hub: normalizeHub(options.hub ?? s.hub ?? DEFAULT_HUB, where),
      repo: s.repo,
      revision: s.revision,
      files,
      configs: (s.configs ?? {}) as Partial<Record<ModelKind, JsonValue>>,
      stageAScale: s.stageAScale ?? 0.43,
      ...(s.safetyChecker
        ? {
          safetyChecker: {
            repo: s.safetyChecker.repo,
            revision: s.safetyChecker.revision,
            files: s.safetyChecker.files.map((f) => ({
              path: f.path,
              ...(f.size !== undefined ? { size: f.size } : {}),
              ...(f.sha256 !== undefined ? { sha256: f.sha256 } : {}),
            })),
          },
        }
        : {}),
    },
  };
}

/** Which part of the classifier a checker file is, by its base name (undefined: not one we use). */
export function safetyCheckerFileKind(path: string): 'config' | 'preprocessor' | 'weights' | undefined {
  const name = baseName(path);
  if (name === 'config.json') return 'config';
  if (name === 'preprocessor_config.json') return 'preprocessor';
  if (name.endsWith('.safetensors')) return 'weights';
  return undefined;
}

function safetyCheckerProblems(files: readonly { path: string }[]): string[] {
  const problems: string[] = [];
  const where = 'source.safetyChecker.files';
  const count = { config: 0, preprocessor: 0, weights: 0 };
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) problems.push(`${where}: ${f.path} is listed twice`);
    paths.add(f.path);
    const kind = safetyCheckerFileKind(f.path);
    if (kind) count[kind]++;
    else problems.push(`${where}: ${f.path} is not config.json, preprocessor_config.json or a .safetensors file`);
  }
  if (count.config !== 1) problems.push(`${where}: needs exactly one config.json (has ${count.config})`);
  if (count.preprocessor !== 1) problems.push(`${where}: needs exactly one preprocessor_config.json (has ${count.preprocessor})`);
  if (count.weights !== 1) problems.push(`${where}: needs exactly one .safetensors file (has ${count.weights})`);
  return problems;
}

/** The same descriptor fetched from another hub (mirror, self-hosted); a package source is unchanged. */
export function withHub(d: ModelDescriptor, hub: string): ModelDescriptor {
  if (d.source.kind !== 'checkpoints') return d;
  return { ...d, source: { ...d.source, hub: normalizeHub(hub) } };
}

/** The repo (and revision) a descriptor file is fetched from: its own `from`, else the source's. */
export function fileRepo(source: HubRepo, file: Pick<DescriptorFile, 'from'>): HubRepo {
  return file.from ? { hub: source.hub, repo: file.from.repo, revision: file.from.revision } : { hub: source.hub, repo: source.repo, revision: source.revision };
}

/** `<hub>/<repo>/resolve/<revision>/<path>`, each path segment percent-encoded. */
export function resolveUrl(source: HubRepo, path: string): string {
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return `${source.hub}/${enc(source.repo)}/resolve/${encodeURIComponent(source.revision)}/${enc(path)}`;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
