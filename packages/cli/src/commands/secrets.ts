import type { Command } from 'commander';
import { connect } from '../connection.js';
import { CliError, EXIT, green, printJson, printTable } from '../output.js';
import { globals } from './globals.js';

interface SetOptions {
  valueStdin?: boolean;
  json?: boolean;
}

/** Reads the whole of stdin, without one trailing newline (what `echo` and most editors add). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * The NAME/VALUE pairs of `secrets set`: `NAME VALUE`, fal's `NAME=VALUE …`, or `NAME` alone with the
 * value on stdin (so it never lands in the shell history).
 */
async function pairsOf(args: string[], opts: SetOptions): Promise<[string, string][]> {
  const [first = '', second] = args;
  if (opts.valueStdin || (args.length === 1 && !first.includes('='))) {
    if (args.length !== 1 || first.includes('=')) {
      throw new CliError('with --value-stdin give only the NAME', EXIT.usage);
    }
    if (process.stdin.isTTY) {
      throw new CliError(
        `give the value: hangar secrets set ${first} VALUE, or pipe it with --value-stdin`,
        EXIT.usage,
      );
    }
    return [[first, await readStdin()]];
  }
  if (args.length === 2 && second !== undefined && !first.includes('=')) return [[first, second]];
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new CliError(`expected NAME=VALUE, got "${arg.split('=')[0]}"`, EXIT.usage);
    return [arg.slice(0, eq), arg.slice(eq + 1)];
  });
}

/** `hangar secrets`: the owner's secrets, given to its runners as environment variables (ADMIN key). */
export function registerSecrets(program: Command): void {
  const secrets = program
    .command('secrets')
    .description("Set, list and unset your owner's secrets (environment variables of runners)");
  secrets
    .command('set')
    .description('Set secrets; runners started afterwards get them (values are never shown again)')
    .argument('<args...>', 'NAME VALUE, NAME=VALUE pairs, or NAME with the value on stdin')
    .option('--value-stdin', 'read the value of the one NAME from stdin (keeps it out of shell history)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar secrets set HF_TOKEN hf_abc\n  $ hangar secrets set HF_TOKEN=hf_abc DB_PASSWORD=pw\n  $ hangar secrets set HF_TOKEN --value-stdin < token.txt\n',
    )
    .action(async (args: string[], opts: SetOptions, cmd: Command) => {
      const client = connect(globals(cmd));
      const done = [];
      for (const [name, value] of await pairsOf(args, opts)) done.push(await client.secrets.set(name, value));
      if (opts.json) return printJson(done);
      for (const s of done) process.stdout.write(`${green('set')} ${s.name}\n`);
    });
  secrets
    .command('list')
    .description('List secret names with when they were created and last set (never values)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { secrets: rows } = await connect(globals(cmd)).secrets.list();
      if (opts.json) return printJson(rows);
      printTable(
        ['NAME', 'CREATED', 'UPDATED'],
        rows.map((s) => [s.name, s.created_at, s.updated_at]),
      );
    });
  secrets
    .command('unset')
    .description('Remove a secret; runners started afterwards no longer get it')
    .argument('<name>', 'the secret name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await connect(globals(cmd)).secrets.unset(name);
      process.stdout.write(`${green('unset')} ${name}\n`);
    });
}
