import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenPath, needsGolden } from '../testing/golden.ts';
import { ClipTokenizer, createClipTokenizer, stitchLongPromptHidden } from './clip-tokenizer.ts';
import { buildClipTokenizerJson } from './clip-tokenizer-json.ts';

interface TokenizerCase {
  name: string;
  prompt: string;
  bpe_ids: number[];
  num_bpe_ids: number;
  truncated: boolean;
  input_ids: number[];
  attention_mask: number[];
  hf_fast_same: boolean;
  hf_fast_input_ids?: number[];
  hf_fast_attention_mask?: number[];
}

interface TokenizerCases {
  bos_id: number;
  eos_id: number;
  pad_id: number;
  cases: TokenizerCase[];
}

/** The expected result of the HF fast tokenizer (what Stable Cascade uses), per the golden README. */
function expected(c: TokenizerCase): { ids: number[]; mask: number[] } {
  if (c.hf_fast_same) return { ids: c.input_ids, mask: c.attention_mask };
  if (!c.hf_fast_input_ids || !c.hf_fast_attention_mask) throw new Error(`case ${c.name}: hf_fast_* fields missing`);
  return { ids: c.hf_fast_input_ids, mask: c.hf_fast_attention_mask };
}

describe('ClipTokenizer (golden clip/tokenizer_cases.json)', needsGolden('clip/tokenizer_cases.json', 'clip/vocab.json', 'clip/merges.txt'), () => {
  // Loaded lazily inside the tests so a missing golden folder only skips.
  let cache: { golden: TokenizerCases; vocab: Record<string, number>; merges: string; fromFiles: ClipTokenizer } | undefined;
  const load = () => {
    if (!cache) {
      const golden = JSON.parse(readFileSync(goldenPath('clip', 'tokenizer_cases.json'), 'utf8')) as TokenizerCases;
      const vocabText = readFileSync(goldenPath('clip', 'vocab.json'), 'utf8');
      const merges = readFileSync(goldenPath('clip', 'merges.txt'), 'utf8');
      const fromFiles = createClipTokenizer({ vocab: vocabText, merges });
      cache = { golden, vocab: JSON.parse(vocabText) as Record<string, number>, merges, fromFiles };
    }
    return cache;
  };

  it('matches all 40 cases exactly (vocab.json + merges.txt)', () => {
    const { golden, fromFiles } = load();
    expect(golden.cases.length).toBe(40);
    expect([fromFiles.bosId, fromFiles.eosId, fromFiles.padId]).toEqual([golden.bos_id, golden.eos_id, golden.pad_id]);
    const failures: string[] = [];
    for (const c of golden.cases) {
      const enc = fromFiles.encode(c.prompt);
      const exp = expected(c);
      expect(enc.inputIds.length).toBe(77);
      expect(enc.attentionMask.length).toBe(77);
      if (JSON.stringify(enc.inputIds) !== JSON.stringify(exp.ids) || JSON.stringify(enc.attentionMask) !== JSON.stringify(exp.mask)) {
        failures.push(`${c.name}: got ${JSON.stringify(enc.inputIds)} expected ${JSON.stringify(exp.ids)}`);
      }
      // numTokens/truncated describe the BPE stream; where OpenAI's cleaning differs the counts may differ.
      if (c.hf_fast_same) {
        expect(enc.numTokens, c.name).toBe(c.num_bpe_ids);
        expect(enc.truncated, c.name).toBe(c.truncated);
        expect(fromFiles.tokenize(c.prompt), c.name).toEqual(c.bpe_ids);
      }
    }
    console.log(`clip tokenizer: ${golden.cases.length - failures.length}/${golden.cases.length} cases match (vocab+merges)`);
    expect(failures).toEqual([]);
  });

  it('a serialised tokenizer.json built from the same components gives identical ids', () => {
    const { golden, vocab, merges, fromFiles } = load();
    const jsonText = JSON.stringify(buildClipTokenizerJson(vocab, merges));
    const fromJson = createClipTokenizer({
      tokenizerJson: jsonText,
      tokenizerConfig: JSON.stringify({ model_max_length: 77, bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>' }),
    });
    let matched = 0;
    for (const c of golden.cases) {
      const a = fromJson.encode(c.prompt);
      expect(a, c.name).toEqual(fromFiles.encode(c.prompt));
      expect(a.inputIds, c.name).toEqual(expected(c).ids);
      matched++;
    }
    console.log(`clip tokenizer: ${matched}/${golden.cases.length} cases match (tokenizer.json round trip)`);
  });

  it('encode: empty prompt is [BOS, EOS, pad…] with mask [1, 1, 0…] (spec §2.2)', () => {
    const enc = load().fromFiles.encode('');
    expect(enc.inputIds).toEqual([49406, ...Array<number>(76).fill(49407)]);
    expect(enc.attentionMask).toEqual([1, 1, ...Array<number>(75).fill(0)]);
    expect(enc.truncated).toBe(false);
    expect(enc.numTokens).toBe(0);
  });

  it('special tokens match on the raw text only (normalized=false): upper case is BPE-split', () => {
    const tok = load().fromFiles;
    expect(tok.tokenize('<|endoftext|>')).toEqual([49407]);
    const upper = tok.tokenize('<|ENDOFTEXT|>');
    expect(upper).not.toContain(49407);
    expect(upper.length).toBeGreaterThan(1);
  });

  it('pad token comes from special_tokens_map.json (pad "!" -> id 0, and "!" becomes that added token)', () => {
    const { vocab, merges } = load();
    const tok = createClipTokenizer({ vocab, merges, specialTokensMap: { pad_token: '!' } });
    expect(tok.padId).toBe(0);
    const enc = tok.encode('wow!!');
    expect(enc.inputIds.slice(0, 5)).toEqual([49406, vocab['wow</w>'], 0, 0, 49407]);
    expect(enc.inputIds[5]).toBe(0);
  });

  it('encodeLong (kohya, 3 chunks) on the 91-token case', () => {
    const { golden, fromFiles } = load();
    const c = golden.cases.find((x) => x.name === 'sote_tags_long_truncated');
    if (!c) throw new Error('case sote_tags_long_truncated missing');
    expect(c.num_bpe_ids).toBe(91);
    const long = fromFiles.encodeLong(c.prompt, { chunks: 3 });
    expect(long.numTokens).toBe(91);
    expect(long.truncated).toBe(false);
    expect(long.inputIds.length).toBe(3);
    const ids = c.bpe_ids;
    const E = 49407;
    // stream = BOS + 91 ids + EOS + pad(=EOS) up to 227; chunk k = BOS + stream[1+75k .. 75+75k] + stream[226].
    expect(long.inputIds[0]).toEqual([49406, ...ids.slice(0, 75), E]);
    expect(long.inputIds[1]).toEqual([49406, ...ids.slice(75, 91), ...Array<number>(60).fill(E)]);
    expect(long.inputIds[2]).toEqual([49406, ...Array<number>(76).fill(E)]);
    for (const row of long.inputIds) expect(row.length).toBe(77);
    expect(long.attentionMask).toEqual(long.inputIds.map((r) => r.map(() => 1)));
    // The first chunk equals the normal 77-token encoding when the prompt is longer than 75 tokens.
    expect(long.inputIds[0]).toEqual(fromFiles.encode(c.prompt).inputIds);
    // 2 chunks = 150 tokens: still not truncated; 1 chunk truncates.
    expect(fromFiles.encodeLong(c.prompt, { chunks: 2 }).truncated).toBe(false);
    expect(fromFiles.encodeLong(c.prompt, { chunks: 1 }).truncated).toBe(true);
  });

  it('encodeLong applies kohya v2 fix-ups when pad != eos', () => {
    const { golden, vocab, merges } = load();
    const c = golden.cases.find((x) => x.name === 'sote_tags_long_truncated');
    if (!c) throw new Error('case missing');
    const tok = createClipTokenizer({ vocab, merges, specialTokensMap: { pad_token: '!' } });
    const long = tok.encodeLong(c.prompt.replaceAll('!', ''), { chunks: 3 });
    const n = long.numTokens;
    expect(n).toBeGreaterThan(75);
    expect(n).toBeLessThan(150);
    // chunk 1: BOS + ids[75..n) + EOS + pad…; last position is pad (its second-to-last is pad).
    expect(long.inputIds[1][1 + (n - 75)]).toBe(49407);
    expect(long.inputIds[1][76]).toBe(0);
    // chunk 2 starts BOS, pad -> BOS, EOS.
    expect(long.inputIds[2].slice(0, 3)).toEqual([49406, 49407, 0]);
  });
});

describe('stitchLongPromptHidden', () => {
  it('keeps BOS of chunk 0, positions 1..75 of every chunk and the last position of the last chunk', () => {
    const hidden = 2;
    // value = 1000·chunk + 10·position + channel
    const chunks = [0, 1, 2].map((k) => Float32Array.from({ length: 77 * hidden }, (_, i) => 1000 * k + 10 * Math.floor(i / hidden) + (i % hidden)));
    const out = stitchLongPromptHidden(chunks, hidden);
    expect(out.length).toBe(227 * hidden);
    const at = (t: number, ch: number) => out[t * hidden + ch];
    expect([at(0, 0), at(0, 1)]).toEqual([0, 1]);
    expect(at(1, 0)).toBe(10);
    expect(at(75, 1)).toBe(751);
    expect(at(76, 0)).toBe(1010);
    expect(at(150, 0)).toBe(1750);
    expect(at(151, 0)).toBe(2010);
    expect(at(225, 0)).toBe(2750);
    expect([at(226, 0), at(226, 1)]).toEqual([2760, 2761]);
  });

  it('rejects wrongly sized chunks', () => {
    expect(() => stitchLongPromptHidden([new Float32Array(76 * 4)], 4)).toThrow(/77/);
    expect(() => stitchLongPromptHidden([], 4)).toThrow();
  });
});
