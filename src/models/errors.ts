/**
 * A checkpoint that does not fit the graph built from its config. Lists every problem at once (missing,
 * unexpected, wrong shape) so a user fixes a wrong file or config in one round, not one error per attempt.
 */
export class WeightMismatchError extends Error {
  constructor(
    readonly source: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly shapeMismatches: { name: string; expected: readonly number[]; actual: readonly number[] }[],
  ) {
    const lines: string[] = [];
    const cap = (xs: string[]) => (xs.length > 20 ? [...xs.slice(0, 20), `… and ${xs.length - 20} more`] : xs);
    if (missing.length) lines.push(`missing ${missing.length} tensor(s):`, ...cap(missing).map((n) => `  ${n}`));
    if (unexpected.length) lines.push(`unexpected ${unexpected.length} tensor(s):`, ...cap(unexpected).map((n) => `  ${n}`));
    if (shapeMismatches.length) {
      lines.push(`${shapeMismatches.length} shape mismatch(es):`);
      lines.push(...cap(shapeMismatches.map((m) => `  ${m.name}: checkpoint [${m.actual.join(', ')}], config expects [${m.expected.join(', ')}]`)));
    }
    super(`${source} does not match the model config (is it the right file for this model?):\n${lines.join('\n')}`);
    this.name = 'WeightMismatchError';
  }
}
