import type { HangarClient, LiveRunnerInfo } from '@hangar/client';
import { type Command, InvalidArgumentError } from 'commander';
import { connect } from '../connection.js';
import { formatSeconds } from '../format.js';
import { appArg } from '../options.js';
import { CliError, EXIT, printJson, printTable } from '../output.js';
import { globals } from './globals.js';

/** Commander parser for a non-negative integer. */
function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected an integer >= 0, got "${value}"`);
  return n;
}

/** Commander parser for a number of seconds > 0 (fractions allowed). */
function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected seconds > 0, got "${value}"`);
  return n;
}

/** Commander parser for a rollout share: an integer from 1 to 99. */
function percent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 99)
    throw new InvalidArgumentError(`expected a percentage from 1 to 99, got "${value}"`);
  return n;
}

function example(cmd: Command, text: string): Command {
  return cmd.addHelpText('after', `\nExample:\n  $ ${text}\n`);
}

/**
 * Waits until none of `runnerIds` is alive, reporting how many remain on stderr (in-flight requests
 * finish first: draining runners take no new work).
 */
async function waitDrained(client: HangarClient, appId: string, runnerIds: string[], quiet: boolean) {
  const waiting = new Set(runnerIds);
  let last = -1;
  while (waiting.size > 0) {
    const { runners } = await client.apps.runners(appId);
    const alive = runners.filter((r) => waiting.has(r.runner_id));
    if (alive.length !== last && !quiet) {
      const inFlight = alive.reduce((n, r) => n + r.in_flight, 0);
      process.stderr.write(`draining: ${alive.length} runner(s) left, ${inFlight} request(s) in flight\n`);
    }
    last = alive.length;
    if (alive.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function registerScale(apps: Command): void {
  const cmd = apps
    .command('scale')
    .description('Change scaling on the live app without a redeploy (kept across restarts and deploys)')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--min-concurrency <n>', 'runners kept alive at all times', count)
    .option('--max-concurrency <n>', 'most runners at once', count)
    .option('--keep-alive <seconds>', 'idle seconds before a runner above the minimum stops', count)
    .option('--max-multiplexing <n>', 'requests one runner serves at once (reset by the next deploy)', count)
    .option('--scaling-delay <seconds>', 'seconds the queue stays above capacity before runners start', count)
    .option('--concurrency-buffer <n>', 'runners kept warm above those in use', count)
    .option(
      '--startup-timeout <seconds>',
      'seconds a runner may spend in SETUP before it is replaced (reset by the next deploy)',
      seconds,
    )
    .option('--json', 'print JSON')
    .action(async (appId: string, opts: Record<string, number | boolean | undefined>, c: Command) => {
      const input = {
        min_concurrency: opts.minConcurrency as number | undefined,
        max_concurrency: opts.maxConcurrency as number | undefined,
        keep_alive: opts.keepAlive as number | undefined,
        max_multiplexing: opts.maxMultiplexing as number | undefined,
        scaling_delay: opts.scalingDelay as number | undefined,
        concurrency_buffer: opts.concurrencyBuffer as number | undefined,
        startup_timeout: opts.startupTimeout as number | undefined,
      };
      const body = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      if (Object.keys(body).length === 0)
        throw new CliError('nothing to change: give at least one scaling option', EXIT.usage);
      const res = await connect(globals(c)).apps.scale(appId, body);
      if (opts.json) return printJson(res);
      process.stdout.write(
        `${res.endpoint_id}: runners ${res.min_concurrency}-${res.max_concurrency}, keep alive ` +
          `${formatSeconds(res.keep_alive)}, multiplexing ${res.max_multiplexing}, buffer ` +
          `${res.concurrency_buffer}, scaling delay ${formatSeconds(res.scaling_delay)}, startup timeout ` +
          `${formatSeconds(res.startup_timeout)}\n`,
      );
    });
  example(cmd, 'hangar apps scale alice/echo --min-concurrency 2 --max-concurrency 10');
}

function registerSetRev(apps: Command): void {
  const cmd = apps
    .command('set-rev')
    .description('Switch the app to one of its revisions (roll back or forward); old runners drain')
    .argument('<app>', 'OWNER/APP', appArg)
    .argument('<revision>', 'revision id (see `hangar apps revisions`)')
    .option('--no-wait', 'return without waiting for old runners to drain')
    .option('--json', 'print JSON')
    .action(async (appId: string, revision: string, opts: { wait: boolean; json?: boolean }, c: Command) => {
      const client = connect(globals(c));
      const res = await client.apps.setRevision(appId, revision);
      if (!opts.json)
        process.stdout.write(
          `${res.endpoint_id}: revision ${res.previous_revision_id} -> ${res.revision_id}\n`,
        );
      if (opts.wait) await waitDrained(client, appId, res.draining_runners, opts.json === true);
      if (opts.json) printJson(res);
    });
  example(cmd, 'hangar apps set-rev alice/echo 0191a2b3-…');
}

function registerRollout(apps: Command): void {
  const cmd = apps
    .command('rollout')
    .description('Shift traffic gradually to a revision; without options, show the rollout and its split')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--to <revision>', 'revision to send traffic to')
    .option('--percent <n>', 'share of requests for that revision (1-99)', percent)
    .option('--promote', 'make the rollout revision the current one (old runners drain)')
    .option('--abort', 'end the rollout; all traffic returns to the current revision')
    .option('--json', 'print JSON')
    .action(
      async (
        appId: string,
        opts: { to?: string; percent?: number; promote?: boolean; abort?: boolean; json?: boolean },
        c: Command,
      ) => {
        const chosen = [opts.to !== undefined || opts.percent !== undefined, opts.promote, opts.abort].filter(
          Boolean,
        );
        if (chosen.length > 1)
          throw new CliError('use one of --to/--percent, --promote or --abort', EXIT.usage);
        const client = connect(globals(c));
        if (opts.promote) {
          const res = await client.apps.promoteRollout(appId);
          if (opts.json) return printJson(res);
          process.stdout.write(
            `${res.endpoint_id}: promoted ${res.revision_id} (was ${res.previous_revision_id})\n`,
          );
          return waitDrained(client, appId, res.draining_runners, false);
        }
        if (opts.abort) {
          const res = await client.apps.abortRollout(appId);
          if (opts.json) return printJson(res);
          return void process.stdout.write(
            `${res.endpoint_id}: rollout aborted; all traffic on ${res.current_revision_id}\n`,
          );
        }
        if (opts.to !== undefined || opts.percent !== undefined) {
          const current = opts.to ?? (await client.apps.rollout(appId)).revision_id;
          if (!current) throw new CliError('no rollout in progress: give --to REVISION', EXIT.usage);
          if (opts.percent === undefined) throw new CliError('give --percent (1-99)', EXIT.usage);
          const res = await client.apps.startRollout(appId, current, opts.percent);
          if (opts.json) return printJson(res);
          return void process.stdout.write(
            `${res.endpoint_id}: ${res.percent}% of requests to ${res.revision_id}\n`,
          );
        }
        const res = await client.apps.rollout(appId);
        if (opts.json) return printJson(res);
        if (res.revision_id === null)
          return void process.stdout.write(
            `${res.endpoint_id}: no rollout; all traffic on ${res.current_revision_id}\n`,
          );
        process.stdout.write(
          `${res.endpoint_id}: ${res.percent}% to ${res.revision_id} since ${res.started_at}\n`,
        );
        printTable(
          ['REVISION', 'ROLE', 'REQUESTS'],
          (res.traffic ?? []).map((t) => [
            t.revision_id,
            t.revision_id === res.revision_id
              ? 'rollout'
              : t.revision_id === res.current_revision_id
                ? 'current'
                : 'other',
            t.requests,
          ]),
        );
      },
    );
  example(cmd, 'hangar apps rollout alice/echo --to 0191a2b3-… --percent 10');
}

function registerDeletes(apps: Command): void {
  const del = apps
    .command('delete')
    .description('Delete an app: queued requests get an error result, runners drain, files and bundles stay')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--json', 'print JSON')
    .action(async (appId: string, opts: { json?: boolean }, c: Command) => {
      const res = await connect(globals(c)).apps.deleteApp(appId);
      if (opts.json) return printJson(res);
      process.stdout.write(
        `${res.endpoint_id}: deleted; ${res.cancelled_requests} queued request(s) answered, ` +
          `${res.draining_runners.length} runner(s) draining\n`,
      );
    });
  example(del, 'hangar apps delete alice/echo');
  const rev = apps
    .command('delete-rev')
    .description('Delete a revision that serves no traffic (its bundle is kept)')
    .argument('<app>', 'OWNER/APP', appArg)
    .argument('<revision>', 'revision id')
    .option('--json', 'print JSON')
    .action(async (appId: string, revision: string, opts: { json?: boolean }, c: Command) => {
      const res = await connect(globals(c)).apps.deleteRevision(appId, revision);
      if (opts.json) return printJson(res);
      process.stdout.write(`${res.endpoint_id}: revision ${res.revision_id} deleted\n`);
    });
  example(rev, 'hangar apps delete-rev alice/echo 0191a2b3-…');
}

/** `hangar apps scale|set-rev|rollout|delete|delete-rev`. */
export function registerAppOps(apps: Command): void {
  registerScale(apps);
  registerSetRev(apps);
  registerRollout(apps);
  registerDeletes(apps);
}

function runnerRow(r: LiveRunnerInfo): (string | number)[] {
  return [
    r.runner_id,
    r.revision_id,
    r.stopping ? `${r.state} (stopping)` : r.state,
    formatSeconds(Math.round(r.state_seconds)),
    formatSeconds(Math.round(r.uptime_s)),
    `${r.in_flight}/${r.max_multiplexing}`,
  ];
}

/** `hangar runners list|stop|kill`: the live runners of an app. */
export function registerRunnersCommand(program: Command): void {
  const runners = program.command('runners').description('Live runners of an app');
  const list = runners
    .command('list')
    .description('List live runners with state, uptime and in-flight requests')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--json', 'print JSON')
    .action(async (appId: string, opts: { json?: boolean }, c: Command) => {
      const res = await connect(globals(c)).apps.runners(appId);
      if (opts.json) return printJson(res);
      printTable(
        ['RUNNER', 'REVISION', 'STATE', 'IN STATE', 'UPTIME', 'IN FLIGHT'],
        res.runners.map(runnerRow),
      );
    });
  example(list, 'hangar runners list alice/echo');
  for (const how of ['stop', 'kill'] as const) {
    const cmd = runners
      .command(how)
      .description(
        how === 'stop'
          ? 'Drain a runner: it finishes its in-flight requests, takes no new work, then stops'
          : 'End a runner now (SIGKILL); its queued requests are retried, sync calls get an error',
      )
      .argument('<app>', 'OWNER/APP', appArg)
      .argument('<runner>', 'runner id (see `hangar runners list`)')
      .option('--json', 'print JSON')
      .action(async (appId: string, runnerId: string, opts: { json?: boolean }, c: Command) => {
        const res = await connect(globals(c)).apps.stopRunner(appId, runnerId, how);
        if (opts.json) return printJson(res);
        process.stdout.write(`${runnerId}: ${how === 'stop' ? 'draining' : 'killed'}\n`);
      });
    example(cmd, `hangar runners ${how} alice/echo 3f2a…`);
  }
}
