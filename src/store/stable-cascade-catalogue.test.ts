import { describe, expect, it } from 'vitest';
import { STAGE_B_PRESETS, STAGE_C_PRESETS } from '../models/cascade-config.ts';
import { presetFor, type TensorShapes } from '../models/detect.ts';
import { buildModel, type AnyModelConfig } from '../models/registry.ts';
import { modelFromUrl, SOTEDIFFUSION_V2, STABLE_CASCADE, STABLE_CASCADE_LITE } from './catalogue.ts';
import { fileRepo, parseDescriptor, resolveUrl, type CheckpointSource } from './descriptor.ts';

const PRIOR = { repo: 'stabilityai/stable-cascade-prior', revision: '143869a0d0dc97bfaadddbfce89aa7b8f3cb0d62' };
const BASE_REVISION = 'a89f66d459ae653e3b4d4f992a7c3789d0dc4d16';

const checkpoints = (s: typeof STABLE_CASCADE.source): CheckpointSource => {
  if (s.kind !== 'checkpoints') throw new Error('not a checkpoint source');
  return s;
};

/** Shapes of a network as its graph expects them (what the released file holds). */
function shapesOf(model: AnyModelConfig): TensorShapes {
  const expected = buildModel(model).expected;
  return { name: model.kind, has: (t) => expected.has(t), shape: (t) => expected.get(t) };
}

describe('built-in Stable Cascade (fal-ai/stable-cascade)', () => {
  it('pins stabilityai/stable-cascade and takes the text encoder and tokenizer from the pinned prior repo', () => {
    const s = checkpoints(STABLE_CASCADE.source);
    expect([s.hub, s.repo, s.revision, s.stageAScale]).toEqual(['https://huggingface.co', 'stabilityai/stable-cascade', BASE_REVISION, 0.43]);
    expect(s.files).toEqual([
      { role: 'tokenizer', path: 'tokenizer/vocab.json', from: PRIOR },
      { role: 'tokenizer', path: 'tokenizer/merges.txt', from: PRIOR },
      { role: 'tokenizer', path: 'tokenizer/special_tokens_map.json', from: PRIOR },
      { role: 'tokenizer', path: 'tokenizer/tokenizer_config.json', from: PRIOR },
      { role: 'stage_a', path: 'stage_a.safetensors' },
      { role: 'clip_text', path: 'text_encoder/model.bf16.safetensors', from: PRIOR },
      { role: 'stage_b', path: 'stage_b_bf16.safetensors' },
      { role: 'stage_c', path: 'stage_c_bf16.safetensors' },
    ]);
    // No sha256 on record for the re-uploaded files: every digest comes from the hub's tree API at install.
    expect(s.files.some((f) => f.sha256 !== undefined)).toBe(false);
    const clip = s.files.find((f) => f.role === 'clip_text')!;
    expect(resolveUrl(fileRepo(s, clip), clip.path))
      .toBe('https://huggingface.co/stabilityai/stable-cascade-prior/resolve/143869a0d0dc97bfaadddbfce89aa7b8f3cb0d62/text_encoder/model.bf16.safetensors');
    const stageC = s.files.find((f) => f.role === 'stage_c')!;
    expect(resolveUrl(fileRepo(s, stageC), stageC.path)).toBe(`https://huggingface.co/stabilityai/stable-cascade/resolve/${BASE_REVISION}/stage_c_bf16.safetensors`);
    expect(s.safetyChecker).toEqual(checkpoints(SOTEDIFFUSION_V2.source).safetyChecker);
    expect(STABLE_CASCADE.defaults).toEqual({ width: 1024, height: 1024, stageC: { steps: 20, cfg: 4 }, stageB: { steps: 10, cfg: 4 } });
  });

  it('the lite variant has the lite Stage C / Stage B files and the same repos, text encoder, tokenizer and Stage A', () => {
    const big = checkpoints(STABLE_CASCADE.source);
    const lite = checkpoints(STABLE_CASCADE_LITE.source);
    expect(STABLE_CASCADE_LITE.id).toBe('stable-cascade-lite');
    expect([lite.repo, lite.revision]).toEqual([big.repo, big.revision]);
    const paths = (s: CheckpointSource, role: string) => s.files.filter((f) => f.role === role).map((f) => f.path);
    expect(paths(lite, 'stage_c')).toEqual(['stage_c_lite_bf16.safetensors']);
    expect(paths(lite, 'stage_b')).toEqual(['stage_b_lite_bf16.safetensors']);
    for (const role of ['tokenizer', 'clip_text', 'stage_a']) expect(lite.files.filter((f) => f.role === role)).toEqual(big.files.filter((f) => f.role === role));
    // Package sizes scale with the three networks' parameters (spec §4.1, §5.1, §2.1).
    const ratio = (1_030_785_040 + 699_471_248 + 694_659_840) / (3_589_103_632 + 1_562_941_136 + 694_659_840);
    expect(STABLE_CASCADE_LITE.sizes.fp16! / STABLE_CASCADE.sizes.fp16!).toBeCloseTo(ratio, 12);
    expect(STABLE_CASCADE.sizes).toEqual(SOTEDIFFUSION_V2.sizes);
  });

  it('the released lite files are recognised from their shapes, with the spec parameter counts', () => {
    const c = presetFor('stage_c', shapesOf({ kind: 'stage_c', config: STAGE_C_PRESETS.lite }));
    const b = presetFor('stage_b', shapesOf({ kind: 'stage_b', config: STAGE_B_PRESETS.lite }));
    expect(c).toEqual({ kind: 'stage_c', config: STAGE_C_PRESETS.lite });
    expect(b).toEqual({ kind: 'stage_b', config: STAGE_B_PRESETS.lite });
    expect(buildModel(c).parameterCount()).toBe(1_030_785_040);
    expect(buildModel(b).parameterCount()).toBe(699_471_248);
  });

  it('?model=stable-cascade and ?model=stable-cascade-lite pick the built-ins (with ?hub= applied)', () => {
    const page = 'https://app.example/index.html';
    const a = modelFromUrl(`${page}?model=stable-cascade&hub=https://mirror.example/hf`);
    expect(a.kind === 'built-in' && a.descriptor.id).toBe('stable-cascade');
    expect(a.kind === 'built-in' && checkpoints(a.descriptor.source).hub).toBe('https://mirror.example/hf');
    const l = modelFromUrl(`${page}?model=stable-cascade-lite`);
    expect(l.kind === 'built-in' && l.descriptor.id).toBe('stable-cascade-lite');
  });
});

describe('descriptor files from another repo', () => {
  const base = () => ({
    id: 'x', name: 'X', defaults: { width: 512, height: 512, stageC: { steps: 4, cfg: 4 }, stageB: { steps: 4, cfg: 1 } },
    source: {
      kind: 'checkpoints', repo: 'a/main-repo', revision: 'b'.repeat(40),
      files: [
        { role: 'tokenizer', path: 'tokenizer/tokenizer.json', repo: 'a/other', revision: 'c'.repeat(40) },
        { role: 'clip_text', path: 'model.safetensors', repo: 'a/other', revision: 'c'.repeat(40) },
        { role: 'stage_c', path: 'model.safetensors' },
        { role: 'stage_b', path: 'b.safetensors' },
        { role: 'stage_a', path: 'a.safetensors' },
      ] as Record<string, unknown>[],
    },
  });

  it('the same path in two repos is two files; each resolves in its own repo', () => {
    const s = checkpoints(parseDescriptor(base()).source);
    const urls = s.files.map((f) => resolveUrl(fileRepo(s, f), f.path));
    expect(urls[1]).toBe(`https://huggingface.co/a/other/resolve/${'c'.repeat(40)}/model.safetensors`);
    expect(urls[2]).toBe(`https://huggingface.co/a/main-repo/resolve/${'b'.repeat(40)}/model.safetensors`);
  });

  it('needs both repo and revision; a path twice in one repo is still an error', () => {
    const d = base();
    d.source.files[3] = { role: 'stage_b', path: 'b.safetensors', repo: 'a/other' };
    d.source.files[4] = { role: 'stage_a', path: 'model.safetensors' };
    expect(() => parseDescriptor(d)).toThrow(/source\.files\.3: a file from another repo needs both repo and revision/);
    const dup = base();
    dup.source.files[4] = { role: 'stage_a', path: 'model.safetensors' };
    expect(() => parseDescriptor(dup)).toThrow(/model\.safetensors is listed twice/);
  });
});
