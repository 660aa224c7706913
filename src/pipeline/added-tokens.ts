/**
 * Splitting a prompt on added (special) tokens with Rust tokenizers' AddedVocabulary semantics; the reason it
 * is done here and not by @huggingface/tokenizers is in clip-tokenizer.ts.
 */

export interface AddedTokenRule {
  id: number;
  /** Content to match: raw for normalized=false tokens, normalised for normalized=true tokens. */
  match: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

export type Section = { text: string; id?: undefined } | { text: string; id: number };

/** Approximation of Rust tokenizers' is_word_character (alphanumeric or '_') for single_word tokens. */
const WORD_CHAR = /[\p{Alphabetic}\p{N}_]/u;

/**
 * Splits `text` on the leftmost-longest occurrences of the tokens (aho-corasick LeftmostLongest, as Rust).
 * Invariant: concatenating the returned non-token sections and the matched spans gives back `text` except for
 * whitespace swallowed by lstrip/rstrip tokens.
 */
export function splitOnAddedTokens(text: string, rules: AddedTokenRule[]): Section[] {
  if (rules.length === 0 || text.length === 0) return text.length > 0 ? [{ text }] : [];
  const out: Section[] = [];
  let sectionStart = 0;
  let i = 0;
  while (i < text.length) {
    let best: AddedTokenRule | undefined;
    for (const r of rules) {
      if (r.match.length > 0 && text.startsWith(r.match, i) && (!best || r.match.length > best.match.length)) best = r;
    }
    if (!best) {
      i++;
      continue;
    }
    let start = i;
    let stop = i + best.match.length;
    if (best.singleWord) {
      const before = start > 0 && WORD_CHAR.test(text[start - 1]);
      const after = stop < text.length && WORD_CHAR.test(text[stop]);
      if (before || after) {
        i++;
        continue;
      }
    }
    if (best.lstrip) {
      while (start > sectionStart && /\s/u.test(text[start - 1])) start--;
    }
    if (best.rstrip) {
      while (stop < text.length && /\s/u.test(text[stop])) stop++;
    }
    if (start > sectionStart) out.push({ text: text.slice(sectionStart, start) });
    out.push({ text: text.slice(start, stop), id: best.id });
    sectionStart = stop;
    i = stop;
  }
  if (sectionStart < text.length) out.push({ text: text.slice(sectionStart) });
  return out;
}
