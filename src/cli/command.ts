/**
 * What every CLI command module exports as `command`. Its own module, so main.ts (which loads the commands)
 * and the commands (which implement it) do not import each other.
 */
export interface CliCommand {
  /** One line for `npm run cli -- help`. */
  summary: string;
  run(argv: string[]): Promise<void>;
}
