/**
 * tokenizer.json as transformers' CLIPConverter writes it for a CLIP vocab.json + merges.txt, and the JSON
 * shapes of the tokenizer files (only the parts the tokenizer reads). Pure data: no @huggingface/tokenizers here.
 */

export const DEFAULT_BOS = '<|startoftext|>';
export const DEFAULT_EOS = '<|endoftext|>';
/** HF's CLIP default for unk and pad; Stable Cascade's tokenizer pads with it (id 49407). */
export const DEFAULT_PAD = '<|endoftext|>';
/**
 * HF CLIPTokenizer keeps merges.txt lines [1, 49152 - 256 - 2 + 1): the header plus at most 48,894 merges.
 * The fast converter reads the slow tokenizer's ranks, so the same cap applies to the vocab+merges path.
 */
const CLIP_MAX_MERGES = 49152 - 256 - 2;

/** The CLIP pre-tokenizer regex of transformers' CLIPConverter (Oniguruma syntax, as stored in tokenizer.json). */
export const CLIP_SPLIT_REGEX = String.raw`'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`;

// ---------------------------------------------------------------------------------------------------------
// tokenizer.json shapes (only the parts read here; the rest is passed through to @huggingface/tokenizers)

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  /** Rust default when absent: !special. normalized=false tokens are matched on the raw text. */
  normalized?: boolean;
  special?: boolean;
}

/** A tokenizer.json object. Component configs are kept opaque (`unknown`) and validated by the library. */
export interface TokenizerJson {
  version?: string;
  added_tokens?: AddedTokenJson[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  model: { type?: string; vocab: Record<string, number>; merges?: string[] | [string, string][]; unk_token?: string | null; [key: string]: unknown };
  [key: string]: unknown;
}

/** A token as written in tokenizer_config.json / special_tokens_map.json: a string or an AddedToken dict. */
export type SpecialTokenSpec = string | { content: string; [key: string]: unknown };

/** tokenizer_config.json / special_tokens_map.json (only the fields read here). */
export interface TokenizerConfigJson {
  bos_token?: SpecialTokenSpec | null;
  eos_token?: SpecialTokenSpec | null;
  unk_token?: SpecialTokenSpec | null;
  pad_token?: SpecialTokenSpec | null;
  model_max_length?: number;
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------------------
// Assembling the CLIPTokenizerFast pipeline from vocab.json + merges.txt

/** Parses merges.txt the way HF CLIPTokenizer does: drop the "#version" header, keep at most 48,894 merges. */
export function parseMerges(merges: string | string[]): string[] {
  let lines = typeof merges === 'string' ? merges.split(/\r?\n/) : merges.slice();
  if (lines.length > 0 && lines[0].startsWith('#')) lines = lines.slice(1);
  // Python's .strip().split("\n") drops only surrounding blank lines; a blank line inside would be a bug in the
  // file. Dropping all empty lines is the same for every well-formed file.
  lines = lines.filter((l) => l.length > 0);
  for (const l of lines) {
    if (l.split(' ').length !== 2) throw new Error(`merges: malformed line ${JSON.stringify(l)} (expected "a b")`);
  }
  return lines.slice(0, CLIP_MAX_MERGES);
}

/**
 * The tokenizer.json that transformers' CLIPConverter.converted() produces for these vocab/merges
 * (convert_slow_tokenizer.py; golden README "HF fast tokenizer"): NFC + Replace(\s+ -> " ") + Lowercase,
 * Split(CLIP regex, Removed, invert) + ByteLevel(add_prefix_space false), BPE with end_of_word_suffix "</w>"
 * and unk <|endoftext|>, RobertaProcessing(cls <|startoftext|>, sep <|endoftext|>), ByteLevel decoder.
 * The two special tokens are added tokens with normalized=false (how the golden reference was run).
 * Serialising the result with JSON.stringify gives a tokenizer.json that loads back to identical ids.
 */
export function buildClipTokenizerJson(vocab: Record<string, number>, merges: string | string[]): TokenizerJson {
  const bos = vocab[DEFAULT_BOS];
  const eos = vocab[DEFAULT_EOS];
  if (bos === undefined || eos === undefined) {
    throw new Error(`vocab.json lacks ${DEFAULT_BOS} or ${DEFAULT_EOS}; not a CLIP vocabulary`);
  }
  const special = (id: number, content: string): AddedTokenJson => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bos, DEFAULT_BOS), special(eos, DEFAULT_EOS)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: String.raw`\s+` }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_REGEX }, behavior: 'Removed', invert: true },
        // Rust's ByteLevel(add_prefix_space=False) serialises with its defaults trim_offsets/use_regex true.
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [DEFAULT_EOS, eos],
      cls: [DEFAULT_BOS, bos],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: DEFAULT_EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: parseMerges(merges),
    },
  };
}
