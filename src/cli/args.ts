/** Argument parsing shared by the CLI commands: node:util parseArgs with errors that say what to type. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(message: string, usage: string) {
    super(`${message}\nusage: ${usage}`);
    this.name = 'UsageError';
  }
}

export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message, usage);
  }
}

export function required(value: string | undefined, flag: string, usage: string): string {
  if (!value) throw new UsageError(`missing ${flag}`, usage);
  return value;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T, usage: string): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`, usage);
  return value as T;
}
