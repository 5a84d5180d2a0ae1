import { resolve } from 'node:path';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { CliError, EXIT, green, printJson } from '../output.js';
import { type GlobalOptions, globals } from './globals.js';

interface DeployOptions {
  message?: string;
  annotation: string[];
  json?: boolean;
}

function parseAnnotations(items: string[]): Record<string, string> | undefined {
  if (items.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--annotation expects KEY=VALUE, got "${item}"`, EXIT.usage);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** `hangar deploy DIR`: deploys an app directory as a new revision. */
export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('Deploy an app directory (with a hangar.json manifest) as a new revision')
    .argument('<dir>', 'app directory on the server machine')
    .option('-m, --message <text>', 'revision message')
    .option(
      '-a, --annotation <key=value>',
      'revision annotation (repeatable)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ hangar deploy examples/echo-node --message "first deploy" -a team=ml\n',
    )
    .action(async (dir: string, opts: DeployOptions, cmd: Command) => {
      const g: GlobalOptions = globals(cmd);
      const client = connect(g);
      const result = await client.apps.deploy({
        path: resolve(dir),
        message: opts.message,
        annotations: parseAnnotations(opts.annotation),
      });
      if (opts.json) return printJson(result);
      process.stdout.write(`${green('deployed')} ${result.endpoint_id} revision ${result.revision_id}\n`);
    });
}
