import type { Operator } from '@hangar/server';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { CliError, EXIT, green, printJson, printTable } from '../output.js';
import { globals } from './globals.js';

interface KeyOptions {
  owner?: string;
  scope?: string;
  name?: string;
  remote?: boolean;
  json?: boolean;
}

/** Opens the local operator on demand (the server's dependencies are heavy). */
async function openOperator<T>(home: string | undefined, fn: (op: Operator) => Promise<T>): Promise<T> {
  const server = await import('@hangar/server');
  return server.openOperator(home, fn);
}

function scopeOf(value: string | undefined): 'API' | 'ADMIN' {
  const s = (value ?? 'API').toUpperCase();
  if (s !== 'API' && s !== 'ADMIN')
    throw new CliError(`--scope must be API or ADMIN, got "${value}"`, EXIT.usage);
  return s;
}

/**
 * `hangar keys`: locally against HANGAR_HOME (operator, any owner) by default, or over HTTP with
 * `--remote` (an ADMIN key manages its own owner's keys).
 */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Create, list and revoke API keys');
  keys
    .command('create')
    .description('Create a key; the secret is printed once')
    .option('--owner <name>', 'owner namespace (local mode; created if new)')
    .option('--scope <scope>', 'API or ADMIN', 'API')
    .option('--name <name>', 'a label for the key')
    .option('--remote', 'create over HTTP with your ADMIN key (your own owner)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ hangar keys create --owner alice --scope ADMIN --name ci\n')
    .action(async (opts: KeyOptions, cmd: Command) => {
      const g = globals(cmd);
      const scope = scopeOf(opts.scope);
      let out: { key_id: string; key: string; scope: string; owner?: string };
      if (opts.remote) {
        out = await connect(g).keys.create(scope, opts.name);
      } else {
        if (!opts.owner) throw new CliError('--owner is required in local mode', EXIT.usage);
        const owner = opts.owner;
        out = await openOperator(g.home, (op) => op.createKey(owner, scope, opts.name));
      }
      if (opts.json) return printJson(out);
      process.stdout.write(`${green('created')} ${out.scope} key ${out.key_id}\n${out.key}\n`);
    });
  keys
    .command('list')
    .description('List keys (never their secrets)')
    .option('--owner <name>', 'only this owner (local mode)')
    .option('--remote', 'list over HTTP (your own owner)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ hangar keys list --owner alice\n')
    .action(async (opts: KeyOptions, cmd: Command) => {
      const g = globals(cmd);
      const rows = opts.remote
        ? (await connect(g).keys.list()).keys
        : await openOperator(g.home, (op) => op.listKeys(opts.owner));
      if (opts.json) return printJson(rows);
      printTable(
        ['KEY ID', 'OWNER', 'SCOPE', 'NAME', 'CREATED', 'REVOKED'],
        rows.map((k) => [
          k.key_id,
          'owner' in k ? String(k.owner) : '',
          k.scope,
          k.name,
          k.created_at,
          k.revoked_at,
        ]),
      );
    });
  keys
    .command('revoke')
    .description('Revoke a key')
    .argument('<key_id>')
    .option('--remote', 'revoke over HTTP (your own owner)')
    .addHelpText('after', '\nExample:\n  $ hangar keys revoke 3f2a9c1e --remote\n')
    .action(async (keyId: string, opts: KeyOptions, cmd: Command) => {
      const g = globals(cmd);
      if (opts.remote) await connect(g).keys.revoke(keyId);
      else await openOperator(g.home, (op) => op.revokeKey(keyId));
      process.stdout.write(`${green('revoked')} ${keyId}\n`);
    });
}
