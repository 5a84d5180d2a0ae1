import type { Command } from 'commander';
import { connect } from '../connection.js';
import { appArg } from '../options.js';
import { green, printJson } from '../output.js';
import { globals } from './globals.js';

/** `hangar queue size|flush APP`: an app's queue. */
export function registerQueue(program: Command): void {
  const queue = program.command('queue').description("Inspect or flush an app's request queue");
  queue
    .command('size')
    .description('How many requests wait in the queue')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ hangar queue size alice/echo\n')
    .action(async (appId: string, opts: { json?: boolean }, c: Command) => {
      const res = await connect(globals(c)).apps.queueSize(appId);
      if (opts.json) return printJson(res);
      process.stdout.write(`${res.queue_size}\n`);
    });
  queue
    .command('flush')
    .description('Cancel every queued (not yet running) request of the app; running ones continue')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--idempotency-key <key>', 'makes a retried flush safe (answers are cached 10 minutes)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ hangar queue flush alice/echo\n')
    .action(async (appId: string, opts: { idempotencyKey?: string; json?: boolean }, c: Command) => {
      await connect(globals(c)).apps.flushQueue(appId, { idempotencyKey: opts.idempotencyKey });
      if (opts.json) return printJson({ flushed: true, app: appId });
      process.stdout.write(`${green('flushed')} queue of ${appId}\n`);
    });
}
