/**
 * Node CLI entry: `npm run cli -- <command> [options]`. Each command lives in its own module under commands/
 * and is loaded only when used, so `tokenize` never pays for onnxruntime start-up.
 */
import type { CliCommand } from './command.ts';

const commands: Record<string, () => Promise<{ command: CliCommand }>> = {
  forward: () => import('./commands/forward.ts'),
  convert: () => import('./commands/convert.ts'),
  inspect: () => import('./commands/inspect.ts'),
  plan: () => import('./commands/plan.ts'),
  precisions: () => import('./commands/precisions.ts'),
  tokenize: () => import('./commands/tokenize.ts'),
  randn: () => import('./commands/randn.ts'),
  sample: () => import('./commands/sample.ts'),
  generate: () => import('./commands/generate.ts'),
  bench: () => import('./commands/bench.ts'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help') {
    console.log('usage: npm run cli -- <command> [options]\n\ncommands:');
    for (const [n, load] of Object.entries(commands)) {
      const summary = await load().then((m) => m.command.summary, () => '(not available)');
      console.log(`  ${n.padEnd(10)} ${summary}`);
    }
    return name ? 0 : 1;
  }
  const load = commands[name];
  if (!load) {
    console.error(`unknown command "${name}"; known: ${Object.keys(commands).join(', ')}`);
    return 2;
  }
  const { command } = await load();
  await command.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? `error: ${err.message}` : err);
    process.exit(1);
  },
);
