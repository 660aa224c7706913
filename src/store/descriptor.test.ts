import { describe, expect, it } from 'vitest';
import { modelFromUrl, SOTEDIFFUSION_V2, tinyDemoDescriptor } from './catalogue.ts';
import { parseDescriptor, resolveUrl } from './descriptor.ts';
import { DescriptorError } from './errors.ts';

const minimal = () => ({
  id: 'my-finetune',
  name: 'My finetune',
  source: {
    kind: 'checkpoints',
    repo: 'someone/finetune',
    revision: 'a'.repeat(40),
    files: [
      { role: 'clip_text', path: 'te.safetensors' },
      { role: 'stage_c', path: 'c.safetensors', size: 10, sha256: 'AB'.repeat(32) },
      { role: 'stage_b', path: 'b.safetensors' },
      { role: 'stage_a', path: 'a.safetensors' },
      { role: 'tokenizer', path: 'tokenizer/vocab.json' },
      { role: 'tokenizer', path: 'tokenizer/merges.txt' },
    ],
  },
  defaults: { width: 1024, height: 1024, stageC: { steps: 20, cfg: 4 }, stageB: { steps: 10, cfg: 1.1 } },
});

describe('model descriptors', () => {
  it('parses a minimal descriptor and fills the defaults (hub, Stage A scale 0.43, lower-case sha256)', () => {
    const d = parseDescriptor(JSON.stringify(minimal()));
    expect(d.source).toMatchObject({ kind: 'checkpoints', hub: 'https://huggingface.co', stageAScale: 0.43, configs: {} });
    if (d.source.kind !== 'checkpoints') throw new Error('kind');
    expect(d.source.files[1].sha256).toBe('ab'.repeat(32));
    expect(resolveUrl(d.source, 'tokenizer/vocab.json')).toBe(`https://huggingface.co/someone/finetune/resolve/${'a'.repeat(40)}/tokenizer/vocab.json`);
  });

  it('a hub override replaces the descriptor hub and is normalized', () => {
    const d = parseDescriptor(minimal(), { hub: 'http://127.0.0.1:9000/mirror/' });
    expect(d.source.kind === 'checkpoints' && d.source.hub).toBe('http://127.0.0.1:9000/mirror');
  });

  it('reports every problem at once with its field path', () => {
    const bad = minimal() as Record<string, unknown>;
    bad.id = 'Bad Id';
    (bad.source as { files: unknown[] }).files.push({ role: 'stage_x', path: '../etc' });
    (bad.defaults as { width: number }).width = 5;
    let err: unknown;
    try {
      parseDescriptor(bad, { url: 'https://example.com/d.json' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DescriptorError);
    const msg = (err as Error).message;
    expect(msg).toContain('https://example.com/d.json');
    expect(msg).toMatch(/id: must be/);
    expect(msg).toMatch(/source\.files\.6\.role/);
    expect(msg).toMatch(/source\.files\.6\.path: must be a relative path/);
    expect(msg).toMatch(/defaults\.width/);
  });

  it('requires every checkpoint role, a usable tokenizer and distinct paths', () => {
    const d = minimal();
    d.source.files = d.source.files.filter((f) => f.role !== 'stage_b' && f.path !== 'tokenizer/merges.txt');
    d.source.files.push({ role: 'stage_a', path: 'a.safetensors' });
    expect(() => parseDescriptor(d)).toThrow(/no stage_b file.*vocab\.json \+ merges\.txt or tokenizer\.json.*a\.safetensors is listed twice/);
  });

  it('rejects non-JSON and unknown fields', () => {
    expect(() => parseDescriptor('{nope')).toThrow(/not valid JSON/);
    expect(() => parseDescriptor({ ...minimal(), extra: 1 })).toThrow(/Unrecognized key/i);
  });

  it('a package source resolves relative to the descriptor URL', () => {
    const d = parseDescriptor({ ...minimal(), source: { kind: 'package', url: 'pkg' } }, { url: 'https://example.com/models/d.json' });
    expect(d.source).toEqual({ kind: 'package', url: 'https://example.com/models/pkg/' });
  });

  it('the built-in SoteDiffusion V2 pins the revision, the four single files and the known hashes', () => {
    const s = SOTEDIFFUSION_V2.source;
    if (s.kind !== 'checkpoints') throw new Error('kind');
    expect(s.repo).toBe('Disty0/sotediffusion-v2');
    expect(s.revision).toBe('bfdd545f894f0d32b63cd5e1adead49e5522a947');
    expect(s.stageAScale).toBe(0.43);
    expect(s.files.filter((f) => f.role !== 'tokenizer').map((f) => f.path).sort()).toEqual([
      'sotediffusion-v2-stage_b.safetensors', 'sotediffusion-v2-stage_c.safetensors',
      'sotediffusion-v2-stage_c_text_encoder.safetensors', 'stage_a_ft_hq.safetensors',
    ]);
    expect(s.files.find((f) => f.role === 'stage_c')?.sha256).toBe('b4f582137f9f2562f8f378140cf01ded3aa81aedbde13e2b4bf9367e9fba23e5');
  });

  it('an optional safetyChecker block: validated, normalized, fetched from the same hub', () => {
    const d = minimal() as ReturnType<typeof minimal> & { source: Record<string, unknown> };
    d.source.safetyChecker = {
      repo: 'Falconsai/nsfw_image_detection',
      revision: 'main',
      files: [{ path: 'config.json' }, { path: 'preprocessor_config.json', size: 325 }, { path: 'model.safetensors', sha256: 'CD'.repeat(32) }],
    };
    const parsed = parseDescriptor(d, { hub: 'http://127.0.0.1:9/' });
    if (parsed.source.kind !== 'checkpoints') throw new Error('kind');
    const sc = parsed.source.safetyChecker!;
    expect(sc).toEqual({
      repo: 'Falconsai/nsfw_image_detection',
      revision: 'main',
      files: [{ path: 'config.json' }, { path: 'preprocessor_config.json', size: 325 }, { path: 'model.safetensors', sha256: 'cd'.repeat(32) }],
    });
    expect(resolveUrl({ hub: parsed.source.hub, repo: sc.repo, revision: sc.revision }, 'model.safetensors'))
      .toBe('http://127.0.0.1:9/Falconsai/nsfw_image_detection/resolve/main/model.safetensors');
    // Without the block nothing changes.
    const plain = parseDescriptor(minimal());
    expect(plain.source.kind === 'checkpoints' && 'safetyChecker' in plain.source).toBe(false);
  });

  it('a safetyChecker block needs exactly config.json, preprocessor_config.json and one .safetensors', () => {
    const withChecker = (checker: unknown) => {
      const d = minimal() as ReturnType<typeof minimal> & { source: Record<string, unknown> };
      d.source.safetyChecker = checker;
      return d;
    };
    expect(() => parseDescriptor(withChecker({ repo: 'a/b', revision: 'main', files: [{ path: 'config.json' }, { path: 'model.safetensors' }, { path: 'model.safetensors' }, { path: 'README.md' }] })))
      .toThrow(/safetyChecker\.files: model\.safetensors is listed twice.*README\.md is not config\.json.*exactly one preprocessor_config\.json \(has 0\).*exactly one \.safetensors file \(has 2\)/);
    let err: unknown;
    try {
      parseDescriptor(withChecker({ repo: 'no-owner', revision: 'a/b', files: [{ path: '../config.json', sha256: 'xyz' }], extra: 1 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DescriptorError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/source\.safetyChecker\.repo: must be "owner\/name"/);
    expect(msg).toMatch(/source\.safetyChecker\.revision: must be a commit id/);
    expect(msg).toMatch(/source\.safetyChecker\.files\.0\.path: must be a relative path/);
    expect(msg).toMatch(/source\.safetyChecker\.files\.0\.sha256: must be 64 hex digits/);
    expect(msg).toMatch(/Unrecognized key.*extra/i);
    expect(() => parseDescriptor(withChecker({ repo: 'a/b', revision: 'main', files: [] }))).toThrow(/safetyChecker\.files/);
  });

  it('the built-in SoteDiffusion V2 installs Falconsai/nsfw_image_detection (the hosted API checker) at "main"', () => {
    const s = SOTEDIFFUSION_V2.source;
    if (s.kind !== 'checkpoints') throw new Error('kind');
    expect(s.safetyChecker).toEqual({
      repo: 'Falconsai/nsfw_image_detection',
      revision: 'main',
      files: [{ path: 'config.json' }, { path: 'preprocessor_config.json' }, { path: 'model.safetensors' }],
    });
  });

  it('?model= and ?hub= pick a built-in, the tiny demo or a descriptor URL', () => {
    const page = 'https://app.example/index.html';
    const a = modelFromUrl(page);
    expect(a.kind === 'built-in' && a.descriptor.id).toBe('sotediffusion-v2');
    const b = modelFromUrl(`${page}?hub=https://mirror.example/hf/`);
    expect(b.kind === 'built-in' && b.descriptor.source.kind === 'checkpoints' && b.descriptor.source.hub).toBe('https://mirror.example/hf');
    const t = modelFromUrl(`${page}?model=tiny`);
    expect(t.kind === 'built-in' && t.descriptor.source).toEqual({ kind: 'package', url: 'https://app.example/models/tiny-demo/' });
    expect(modelFromUrl(`${page}?model=models/mine.json&hub=http://127.0.0.1:1`)).toEqual({ kind: 'url', url: 'https://app.example/models/mine.json', hub: 'http://127.0.0.1:1' });
    expect(() => modelFromUrl(`${page}?model=nonesuch`)).toThrow(DescriptorError);
    expect(() => modelFromUrl(`${page}?hub=ftp://x`)).toThrow(/must be http/);
    expect(tinyDemoDescriptor('http://localhost:5173/').source).toEqual({ kind: 'package', url: 'http://localhost:5173/models/tiny-demo/' });
  });
});
