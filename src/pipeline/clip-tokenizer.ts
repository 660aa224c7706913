/**
 * CLIP byte-level BPE tokenizer as Stable Cascade / SoteDiffusion use it: the Hugging Face fast tokenizer
 * (`CLIPTokenizerFast`, Rust `tokenizers`) with truncation=True, padding="max_length", max_length=77
 * (spec §2.2), plus kohya's 225-token long-prompt mode (spec §2.5).
 *
 * Built from the model's own tokenizer files, given as contents (never paths) so the same code runs in a
 * browser worker; the Node directory loader lives in clip-tokenizer-node.ts.
 *   - tokenizer.json (+ optional tokenizer_config.json / special_tokens_map.json), used as is; or
 *   - vocab.json + merges.txt, from which the CLIPTokenizerFast pipeline is assembled in memory exactly as
 *     transformers' `CLIPConverter` does (buildClipTokenizerJson, clip-tokenizer-json.ts).
 *
 * The normalizer, pre-tokenizer and BPE model are those of @huggingface/tokenizers, with two fixes that make
 * them agree with the Rust library the reference used (golden README, "HF fast tokenizer"):
 *   1. Lowercase: Rust lower-cases code point by code point; JavaScript's toLowerCase applies the Greek
 *      final-sigma rule (ΟΔΟΣ -> οδος with ς). We map Σ -> σ before toLowerCase, which is then exact because
 *      final sigma is the only context-dependent mapping of the locale-independent toLowerCase.
 *   2. ByteLevel pre-tokenizer regex: the library uses JavaScript's \s (matches U+FEFF, misses U+0085); Rust
 *      (Oniguruma) uses White_Space. We replace it with the \p{White_Space} form. (The library already
 *      rewrites \s in tokenizer.json Regex patterns to \p{White_Space}.)
 * Added (special) tokens are split out here rather than by the library's encode(), because the library also
 * treats a normalised section that happens to equal a non-normalised special token as that token
 * ("<|STARTOFTEXT|>" -> 49406), which Rust does not do (it BPE-splits it).
 *
 * Deliberately NOT reproduced: OpenAI's SimpleTokenizer pre-cleaning (ftfy.fix_text, html.unescape). The
 * reference pipelines use the fast tokenizer, which does neither; the golden cases marked hf_fast_same=false
 * record exactly those differences (curly quotes, HTML entities, mojibake, fullwidth, ligatures, Greek sigma).
 */
import { ByteLevelPreTokenizer, LowercaseNormalizer, SequenceNormalizer, SequencePreTokenizer, Tokenizer } from '@huggingface/tokenizers';
import type { Normalizer, PreTokenizer } from '@huggingface/tokenizers';
import { splitOnAddedTokens, type AddedTokenRule } from './added-tokens.ts';
import {
  buildClipTokenizerJson,
  DEFAULT_BOS,
  DEFAULT_EOS,
  DEFAULT_PAD,
  type AddedTokenJson,
  type SpecialTokenSpec,
  type TokenizerConfigJson,
  type TokenizerJson,
} from './clip-tokenizer-json.ts';

/** CLIP context length: BOS + 75 prompt tokens + EOS. */
export const CLIP_CONTEXT_LENGTH = 77;
/** Prompt BPE ids kept per 77-token row (context minus BOS and EOS). */
export const CLIP_MAX_PROMPT_TOKENS = CLIP_CONTEXT_LENGTH - 2;

/** GPT-2 ByteLevel regex with Oniguruma's \s (Unicode White_Space) instead of JavaScript's \s. */
const BYTE_LEVEL_REGEX =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** File contents (strings as read from disk, or already-parsed objects). */
export interface ClipTokenizerFiles {
  /** tokenizer.json; when present it wins over vocab/merges (as with HF's AutoTokenizer, use_fast). */
  tokenizerJson?: string | TokenizerJson;
  /** vocab.json: token -> id. */
  vocab?: string | Record<string, number>;
  /** merges.txt text (with its "#version" header), or the merge lines ("a b") without header. */
  merges?: string | string[];
  tokenizerConfig?: string | TokenizerConfigJson;
  specialTokensMap?: string | TokenizerConfigJson;
}

export interface ClipEncoding {
  /** Length 77: [BOS] + first ≤75 BPE ids + [EOS] + pad id up to 77. */
  inputIds: number[];
  /** Length 77: 1 for BOS, prompt tokens and EOS; 0 for padding. */
  attentionMask: number[];
  /** True when the prompt had more than 75 BPE ids (the rest was dropped, as diffusers does). */
  truncated: boolean;
  /** Number of prompt BPE ids before truncation, without BOS/EOS (the golden's num_bpe_ids). */
  numTokens: number;
}

export interface ClipLongEncoding {
  /**
   * `chunks` rows of 77 ids, kohya sd-scripts layout: BOS + 75 ids of the padded token stream + EOS/pad.
   * Run each row through CLIP WITHOUT attention mask, then stitch with stitchLongPromptHidden.
   */
  inputIds: number[][];
  /**
   * All ones, one row per chunk. kohya passes no mask; an all-ones mask is bit-identical to no mask in HF
   * CLIP (golden README), so callers that always pass a mask can pass this.
   */
  attentionMask: number[][];
  /** True when the prompt had more than 75·chunks BPE ids. */
  truncated: boolean;
  /** Number of prompt BPE ids before truncation, without BOS/EOS. */
  numTokens: number;
}

export interface EncodeLongOptions {
  /** Number of 75-token chunks; kohya's --max_token_length 225 is 3 (the SoteDiffusion training setting). */
  chunks: number;
}

// ---------------------------------------------------------------------------------------------------------
// Fidelity patches (see the file comment)

/** Rust `char::to_lowercase` per code point, which never applies the final-sigma rule. */
function rustLowercase(text: string): string {
  return text.replace(/\u03A3/g, '\u03C3').toLowerCase();
}

function patchNormalizer(n: Normalizer | null): void {
  if (n === null) return;
  if (n instanceof LowercaseNormalizer) {
    n.normalize = rustLowercase;
  } else if (n instanceof SequenceNormalizer) {
    for (const child of n.normalizers) patchNormalizer(child);
  }
}

function patchPreTokenizer(p: PreTokenizer | null): void {
  if (p === null) return;
  if (p instanceof ByteLevelPreTokenizer) {
    p.pattern = new RegExp(BYTE_LEVEL_REGEX.source, BYTE_LEVEL_REGEX.flags);
  } else if (p instanceof SequencePreTokenizer) {
    for (const child of p.tokenizers) patchPreTokenizer(child);
  }
}

// ---------------------------------------------------------------------------------------------------------

function parseJson<T>(value: string | T, what: string): T {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as T;
  } catch (e) {
    throw new Error(`${what}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

function specContent(spec: SpecialTokenSpec | null | undefined): string | undefined {
  if (spec === null || spec === undefined) return undefined;
  return typeof spec === 'string' ? spec : spec.content;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly lib: Tokenizer;
  private readonly rawRules: AddedTokenRule[];
  private readonly normalizedRules: AddedTokenRule[];

  /** Use createClipTokenizer; this takes an already complete tokenizer.json object. */
  constructor(json: TokenizerJson, config: TokenizerConfigJson = {}) {
    // The library requires every component key to be present (null = absent).
    const full: TokenizerJson = {
      ...json,
      added_tokens: json.added_tokens ?? [],
      normalizer: json.normalizer ?? null,
      pre_tokenizer: json.pre_tokenizer ?? null,
      post_processor: json.post_processor ?? null,
      decoder: json.decoder ?? null,
    };
    if (full.model?.type !== undefined && full.model.type !== 'BPE') {
      throw new Error(`tokenizer.json: model type ${full.model.type}, expected BPE (CLIP)`);
    }
    this.lib = new Tokenizer(full, config);
    patchNormalizer(this.lib.normalizer);
    patchPreTokenizer(this.lib.pre_tokenizer);

    const lookup = (token: string, role: string): number => {
      const id = this.lib.token_to_id(token);
      if (id === undefined) throw new Error(`${role} token ${JSON.stringify(token)} is not in the vocabulary`);
      return id;
    };
    this.bosId = lookup(specContent(config.bos_token) ?? DEFAULT_BOS, 'bos');
    this.eosId = lookup(specContent(config.eos_token) ?? DEFAULT_EOS, 'eos');
    const padToken = specContent(config.pad_token) ?? DEFAULT_PAD;
    this.padId = lookup(padToken, 'pad');

    // transformers registers the configured special tokens as added special tokens (normalized=false) when
    // tokenizer.json does not already list them. With pad "!" (SD 2.x / SDXL tokenizer_2) that makes every "!"
    // in a prompt id 0 (diffusers issue #4153); reproduced on purpose so ids match the reference.
    const added: AddedTokenJson[] = [...(full.added_tokens ?? [])];
    for (const [content, id] of [
      [specContent(config.bos_token) ?? DEFAULT_BOS, this.bosId],
      [specContent(config.eos_token) ?? DEFAULT_EOS, this.eosId],
      [padToken, this.padId],
    ] as const) {
      if (!added.some((t) => t.content === content)) added.push({ id, content, normalized: false, special: true });
    }
    const normalize = (s: string): string => (this.lib.normalizer ? this.lib.normalizer.normalize(s) : s);
    this.rawRules = [];
    this.normalizedRules = [];
    for (const t of added) {
      const normalized = t.normalized ?? !(t.special ?? false);
      const rule: AddedTokenRule = {
        id: t.id,
        match: normalized ? normalize(t.content) : t.content,
        singleWord: t.single_word ?? false,
        lstrip: t.lstrip ?? false,
        rstrip: t.rstrip ?? false,
      };
      (normalized ? this.normalizedRules : this.rawRules).push(rule);
    }
  }

  /**
   * Prompt -> BPE ids, without BOS/EOS and without truncation. Pipeline (Rust AddedVocabulary order): split
   * the raw text on normalized=false added tokens; normalise each remaining section; split it on
   * normalized=true added tokens; pre-tokenise and BPE the rest.
   */
  tokenize(prompt: string): number[] {
    const model = this.lib.model;
    if (model === null) throw new Error('tokenizer has no model');
    const ids: number[] = [];
    for (const section of splitOnAddedTokens(prompt, this.rawRules)) {
      if (section.id !== undefined) {
        ids.push(section.id);
        continue;
      }
      const normalized = this.lib.normalizer ? this.lib.normalizer.normalize(section.text) : section.text;
      for (const sub of splitOnAddedTokens(normalized, this.normalizedRules)) {
        if (sub.id !== undefined) {
          ids.push(sub.id);
          continue;
        }
        const pieces = this.lib.pre_tokenizer ? this.lib.pre_tokenizer.pre_tokenize(sub.text) : [sub.text];
        for (const token of model(pieces)) {
          const id = model.tokens_to_ids.get(token) ?? model.unk_token_id;
          if (id === undefined) throw new Error(`token ${JSON.stringify(token)} not in vocabulary and no unk token`);
          ids.push(id);
        }
      }
    }
    return ids;
  }

  /** HF `tokenizer(prompt, truncation=True, padding="max_length", max_length=77)` (spec §2.2). */
  encode(prompt: string): ClipEncoding {
    const ids = this.tokenize(prompt);
    const kept = ids.slice(0, CLIP_MAX_PROMPT_TOKENS);
    const inputIds = [this.bosId, ...kept, this.eosId];
    const attentionMask = inputIds.map(() => 1);
    while (inputIds.length < CLIP_CONTEXT_LENGTH) {
      inputIds.push(this.padId);
      attentionMask.push(0);
    }
    return { inputIds, attentionMask, truncated: ids.length > CLIP_MAX_PROMPT_TOKENS, numTokens: ids.length };
  }

  /**
   * kohya sd-scripts long-prompt mode (spec §2.5; `get_input_ids` with tokenizer_max_length = 75·chunks + 2):
   * tokenize to a stream S = BOS + first ≤75·chunks ids + EOS, padded with the pad id to 75·chunks + 2; chunk k
   * is BOS + S[1 + 75k .. 75 + 75k] + S[last]. When pad == eos (Stable Cascade) that is all; otherwise kohya's
   * "v2" fix-ups apply: a chunk whose second-to-last id is neither EOS nor pad ends in EOS, and a chunk starting
   * BOS, pad gets EOS at position 1.
   * Hidden states: run each row WITHOUT attention mask, take hidden_states[-1] and stitch them with
   * stitchLongPromptHidden to 2 + 75·chunks = 227 tokens; the pooled embedding is text_embeds of chunk 0 only.
   */
  encodeLong(prompt: string, options: EncodeLongOptions = { chunks: 3 }): ClipLongEncoding {
    const { chunks } = options;
    if (!Number.isInteger(chunks) || chunks < 1) throw new Error(`encodeLong: chunks must be a positive integer, got ${chunks}`);
    const maxTokens = CLIP_MAX_PROMPT_TOKENS * chunks;
    const ids = this.tokenize(prompt);
    const stream = [this.bosId, ...ids.slice(0, maxTokens), this.eosId];
    while (stream.length < maxTokens + 2) stream.push(this.padId);
    const last = stream[stream.length - 1];
    const rows: number[][] = [];
    for (let k = 0; k < chunks; k++) {
      const start = 1 + CLIP_MAX_PROMPT_TOKENS * k;
      const row = [this.bosId, ...stream.slice(start, start + CLIP_MAX_PROMPT_TOKENS), last];
      if (this.padId !== this.eosId) {
        if (row[CLIP_CONTEXT_LENGTH - 2] !== this.eosId && row[CLIP_CONTEXT_LENGTH - 2] !== this.padId) {
          row[CLIP_CONTEXT_LENGTH - 1] = this.eosId;
        }
        if (row[1] === this.padId) row[1] = this.eosId;
      }
      rows.push(row);
    }
    return {
      inputIds: rows,
      attentionMask: rows.map((r) => r.map(() => 1)),
      truncated: ids.length > maxTokens,
      numTokens: ids.length,
    };
  }

  /** Ids -> text through the tokenizer's decoder ("</w>" becomes a space). */
  decode(ids: number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.lib.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }
}

/**
 * Builds a ClipTokenizer from file contents. tokenizer.json wins when given; otherwise vocab + merges are
 * assembled into the CLIPTokenizerFast pipeline. special_tokens_map.json overrides tokenizer_config.json per
 * key (as transformers applies it after the init kwargs). Pad defaults to <|endoftext|>.
 */
export function createClipTokenizer(files: ClipTokenizerFiles): ClipTokenizer {
  let json: TokenizerJson;
  if (files.tokenizerJson !== undefined) {
    json = parseJson<TokenizerJson>(files.tokenizerJson, 'tokenizer.json');
    if (typeof json !== 'object' || json === null || typeof json.model !== 'object' || json.model === null) {
      throw new Error('tokenizer.json: missing "model"');
    }
  } else if (files.vocab !== undefined && files.merges !== undefined) {
    json = buildClipTokenizerJson(parseJson<Record<string, number>>(files.vocab, 'vocab.json'), files.merges);
  } else {
    throw new Error('CLIP tokenizer needs tokenizer.json, or vocab.json + merges.txt');
  }
  const cfg = files.tokenizerConfig !== undefined ? parseJson<TokenizerConfigJson>(files.tokenizerConfig, 'tokenizer_config.json') : {};
  const map = files.specialTokensMap !== undefined ? parseJson<TokenizerConfigJson>(files.specialTokensMap, 'special_tokens_map.json') : {};
  const config: TokenizerConfigJson = { ...cfg };
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) {
    if (map[key] !== undefined && map[key] !== null) config[key] = map[key];
  }
  return new ClipTokenizer(json, config);
}

/**
 * kohya's hidden-state stitching for encodeLong (train_util.get_hidden_states_stable_cascade).
 *
 * Input: `chunks[k]` = hidden_states[-1] of chunk k, shape (77, hidden), row-major (token-major), one prompt.
 * Output: shape (2 + 75·n, hidden) = (227, hidden) for n = 3:
 *   [chunk 0 position 0 (BOS)] + [positions 1..75 of chunk 0] + … + [positions 1..75 of chunk n−1]
 *   + [position 76 of chunk n−1 (its EOS or pad)].
 * The pooled embedding is not stitched: it is text_embeds of chunk 0 (pooled at its first EOS).
 */
export function stitchLongPromptHidden(chunks: Float32Array[], hidden: number): Float32Array {
  if (chunks.length === 0) throw new Error('stitchLongPromptHidden: no chunks');
  if (!Number.isInteger(hidden) || hidden <= 0) throw new Error(`stitchLongPromptHidden: bad hidden size ${hidden}`);
  chunks.forEach((c, k) => {
    if (c.length !== CLIP_CONTEXT_LENGTH * hidden) {
      throw new Error(`stitchLongPromptHidden: chunk ${k} has ${c.length} floats, expected 77×${hidden}`);
    }
  });
  const tokens = 2 + CLIP_MAX_PROMPT_TOKENS * chunks.length;
  const out = new Float32Array(tokens * hidden);
  out.set(chunks[0].subarray(0, hidden), 0);
  let t = 1;
  for (const c of chunks) {
    out.set(c.subarray(hidden, (1 + CLIP_MAX_PROMPT_TOKENS) * hidden), t * hidden);
    t += CLIP_MAX_PROMPT_TOKENS;
  }
  const lastChunk = chunks[chunks.length - 1];
  out.set(lastChunk.subarray((CLIP_CONTEXT_LENGTH - 1) * hidden), t * hidden);
  return out;
}
