/**
 * Adapts checkpoint files to the official naming the graph builders use.
 *
 * - Stage C / Stage B (Stability names are canonical): diffusers' split attention (`attention.to_q/to_k/to_v`,
 *   `attention.to_out.0`) maps back to nn.MultiheadAttention's `attention.attn.in_proj_weight` (rows q, k, v)
 *   and `attention.attn.out_proj`; diffusers' Stage B `clip_txt_pooled_mapper` is the official `clip_mapper`.
 * - Stage A: diffusers' `vquantizer.embedding.weight` is the official `vquantizer.codebook.weight`.
 * - CLIP text: Hugging Face names are canonical; `text_model.embeddings.position_ids` (a buffer some
 *   transformers versions save) is dropped.
 * A checkpoint may be split over several files (diffusers shards); names must not repeat across them.
 */
import type { SafetensorsFile } from '../weights/safetensors.ts';
import type { SourceTensor, WeightSource } from './weight-source.ts';

export type ModelKind = 'stage_c' | 'stage_b' | 'stage_a' | 'clip_text';

export function checkpointSource(files: SafetensorsFile[], kind: ModelKind): WeightSource {
  const raw = new Map<string, { file: SafetensorsFile; name: string }>();
  for (const file of files) {
    for (const name of file.tensors.keys()) {
      if (raw.has(name)) throw new Error(`tensor ${name} appears in both ${raw.get(name)!.file.name} and ${file.name}`);
      raw.set(name, { file, name });
    }
  }
  const view = new Map<string, SourceTensor>();
  const direct = (name: string): SourceTensor => {
    const { file } = raw.get(name)!;
    return { shape: file.info(name).shape, read: () => file.readFloat32(name) };
  };
  for (const name of raw.keys()) {
    let official = name;
    if (kind === 'stage_c' || kind === 'stage_b') {
      if (/\.attention\.to_[qkv]\.(weight|bias)$/.test(name)) continue; // merged below
      official = official.replace(/\.attention\.to_out\.0\./, '.attention.attn.out_proj.');
      if (kind === 'stage_b') official = official.replace(/^clip_txt_pooled_mapper\./, 'clip_mapper.');
    } else if (kind === 'stage_a') {
      official = official.replace(/^vquantizer\.embedding\.weight$/, 'vquantizer.codebook.weight');
    } else if (kind === 'clip_text') {
      if (name === 'text_model.embeddings.position_ids') continue;
    }
    view.set(official, direct(name));
  }
  if (kind === 'stage_c' || kind === 'stage_b') {
    for (const name of raw.keys()) {
      const m = /^(.*\.attention)\.to_q\.(weight|bias)$/.exec(name);
      if (!m) continue;
      const parts = ['q', 'k', 'v'].map((p) => `${m[1]}.to_${p}.${m[2]}`);
      const missing = parts.filter((p) => !raw.has(p));
      if (missing.length) continue; // reported as a missing in_proj tensor by bind()
      const tensors = parts.map(direct);
      const [rows, ...rest] = tensors[0].shape;
      view.set(`${m[1]}.attn.in_proj_${m[2]}`, {
        shape: [rows * 3, ...rest],
        read: async () => {
          const chunks = await Promise.all(tensors.map((t) => t.read()));
          const out = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
          let at = 0;
          for (const c of chunks) { out.set(c, at); at += c.length; }
          return out;
        },
      });
    }
  }
  return {
    description: files.map((f) => f.name).join(', '),
    get: (name) => view.get(name),
    names: () => view.keys(),
  };
}
