/**
 * `npm run cli -- tokenize --tokenizer <dir> --prompt "…" [--long [--chunks 3]]`
 * Prints one JSON line {"input_ids": [...], "attention_mask": [...]}: 77 entries each (HF max_length
 * padding, spec §2.2), or with --long one 77-entry row per kohya chunk (spec §2.5; mask rows are all ones
 * because kohya runs the encoder without a mask).
 */
import { parseArgs } from 'node:util';
import type { CliCommand } from '../command.ts';
import { loadClipTokenizerFromDir } from '../../pipeline/clip-tokenizer-node.ts';

const USAGE = 'usage: npm run cli -- tokenize --tokenizer <dir> --prompt "<text>" [--long] [--chunks N]';

export const command: CliCommand = {
  summary: 'CLIP-tokenize a prompt (77 ids + mask, or kohya long-prompt chunks with --long) as JSON',
  async run(argv: string[]): Promise<void> {
    const { values } = parseArgs({
      args: argv,
      options: {
        tokenizer: { type: 'string' },
        prompt: { type: 'string' },
        long: { type: 'boolean', default: false },
        chunks: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.tokenizer === undefined) throw new Error(`--tokenizer <dir> is required\n${USAGE}`);
    // An empty prompt is valid (Stable Cascade's unconditional embedding), so only absence is an error.
    if (values.prompt === undefined) throw new Error(`--prompt is required\n${USAGE}`);
    if (values.chunks !== undefined && !values.long) throw new Error(`--chunks only applies with --long\n${USAGE}`);
    const tok = await loadClipTokenizerFromDir(values.tokenizer);
    if (values.long) {
      const chunks = values.chunks === undefined ? 3 : Number(values.chunks);
      const enc = tok.encodeLong(values.prompt, { chunks });
      console.log(JSON.stringify({ input_ids: enc.inputIds, attention_mask: enc.attentionMask }));
      if (enc.truncated) console.error(`note: prompt has ${enc.numTokens} tokens; kept ${75 * chunks}`);
    } else {
      const enc = tok.encode(values.prompt);
      console.log(JSON.stringify({ input_ids: enc.inputIds, attention_mask: enc.attentionMask }));
      if (enc.truncated) console.error(`note: prompt has ${enc.numTokens} tokens; truncated to 75`);
    }
  },
};
