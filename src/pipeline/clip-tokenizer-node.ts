/**
 * Node-only loader for ClipTokenizer: reads a tokenizer folder from disk and hands the contents to
 * createClipTokenizer (which never touches the file system, so it also runs in the browser).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClipTokenizer, type ClipTokenizerFiles, createClipTokenizer } from './clip-tokenizer.ts';

/**
 * Loads `dir`: tokenizer.json if present (HF's fast-tokenizer preference), else vocab.json + merges.txt;
 * tokenizer_config.json and special_tokens_map.json are read when present (pad/bos/eos tokens).
 * Throws a message naming the folder and what was found when neither file set is complete.
 */
export async function loadClipTokenizerFromDir(dir: string): Promise<ClipTokenizer> {
  const has = (name: string): boolean => existsSync(join(dir, name));
  const read = (name: string): Promise<string> => readFile(join(dir, name), 'utf8');
  if (!existsSync(dir)) throw new Error(`tokenizer folder ${dir} does not exist`);
  const files: ClipTokenizerFiles = {};
  if (has('tokenizer.json')) {
    files.tokenizerJson = await read('tokenizer.json');
  } else if (has('vocab.json') && has('merges.txt')) {
    files.vocab = await read('vocab.json');
    files.merges = await read('merges.txt');
  } else {
    const found = ['tokenizer.json', 'vocab.json', 'merges.txt'].filter(has);
    throw new Error(
      `no CLIP tokenizer in ${dir}: need tokenizer.json, or vocab.json + merges.txt ` +
        `(found: ${found.length > 0 ? found.join(', ') : 'none of them'})`,
    );
  }
  if (has('tokenizer_config.json')) files.tokenizerConfig = await read('tokenizer_config.json');
  if (has('special_tokens_map.json')) files.specialTokensMap = await read('special_tokens_map.json');
  return createClipTokenizer(files);
}
