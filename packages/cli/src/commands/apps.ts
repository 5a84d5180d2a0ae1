import { APP_EVENT_CATEGORIES, type AppEvent, type AppRevision } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { formatNumber, formatSeconds, formatTime } from '../format.js';
import { appArg, collectList, oneOf, positiveInt } from '../options.js';
import { CliError, EXIT, printJson, printTable } from '../output.js';
import { timeOption } from '../time.js';
import { registerAppOps } from './app-ops.js';
import { globals } from './globals.js';

interface PageOptions {
  limit?: number;
  all?: boolean;
  json?: boolean;
}

async function takeAll<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function example(cmd: Command, text: string): Command {
  return cmd.addHelpText('after', `\nExample:\n  $ ${text}\n`);
}

function registerList(apps: Command): void {
  const cmd = apps
    .command('list')
    .description('List your apps')
    .option('--search <text>', 'only apps whose name contains this')
    .option('--environment <env>', 'environment to list (default: main)')
    .option('--json', 'print JSON')
    .action(async (opts: { search?: string; environment?: string; json?: boolean }, c: Command) => {
      const res = await connect(globals(c)).apps.list({
        search: opts.search,
        environment: opts.environment,
        expand: 'endpoints',
      });
      if (opts.json) return printJson(res);
      printTable(
        ['ENDPOINT', 'MACHINE', 'AUTH', 'RUNNERS', 'KEEP ALIVE', 'TIMEOUT', 'UPDATED'],
        res.apps.map((a) => [
          a.endpoint_id,
          a.machine_type,
          a.auth_mode,
          `${a.min_concurrency}-${a.max_concurrency}`,
          formatSeconds(a.keep_alive),
          formatSeconds(a.request_timeout),
          formatTime(a.updated_at),
        ]),
      );
    });
  example(cmd, 'hangar apps list --search echo');
}

function registerShow(apps: Command): void {
  const cmd = apps
    .command('show')
    .description('Show one app: settings, routes, queue size and current revision')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--json', 'print JSON')
    .action(async (appId: string, opts: { json?: boolean }, c: Command) => {
      const client = connect(globals(c));
      const name = appId.split('/')[1] ?? '';
      const { apps } = await client.apps.list({ search: name, expand: 'endpoints' });
      const app = apps.find((a) => a.endpoint_id === appId);
      if (!app) throw new CliError(`app ${appId} not found`, EXIT.notFound);
      const [{ queue_size }, revisions] = await Promise.all([
        client.apps.queueSize(appId),
        client.apps.revisions(appId, { limit: 1 }),
      ]);
      const current = revisions.revisions[0] ?? null;
      if (opts.json) return printJson({ app, queue_size, current_revision: current });
      const rows: [string, string][] = [
        ['endpoint', app.endpoint_id],
        ['routes', (app.endpoints ?? [app.endpoint_id]).join(', ')],
        ['machine type', app.machine_type],
        ['auth mode', app.auth_mode],
        ['concurrency', `${app.min_concurrency}-${app.max_concurrency}`],
        ['keep alive', formatSeconds(app.keep_alive)],
        ['request timeout', formatSeconds(app.request_timeout)],
        ['startup timeout', formatSeconds(app.startup_timeout)],
        ['queue size', String(queue_size)],
        ['revision', current ? `${current.revision_id} (${current.status ?? '-'})` : '-'],
        ['updated', formatTime(app.updated_at)],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    });
  example(cmd, 'hangar apps show alice/echo');
}

function registerRevisions(apps: Command): void {
  const cmd = apps
    .command('revisions')
    .description('List the revisions of an app, newest first')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--limit <n>', 'revisions per page (1-100)', positiveInt)
    .option('--all', 'follow every page')
    .option('--json', 'print JSON')
    .action(async (appId: string, opts: PageOptions, c: Command) => {
      const client = connect(globals(c));
      const page = opts.all
        ? {
            endpoint_id: appId,
            revisions: await takeAll(client.apps.iterateRevisions(appId, { limit: opts.limit })),
            next_cursor: null,
            has_more: false,
          }
        : await client.apps.revisions(appId, { limit: opts.limit });
      if (opts.json) return printJson(page);
      printTable(
        ['REVISION', 'CREATED', 'STATUS', 'CURRENT', 'BY', 'MESSAGE'],
        page.revisions.map((r: AppRevision) => [
          r.revision_id,
          formatTime(r.created_at),
          r.status,
          r.is_current ? '*' : '',
          r.deployed_by,
          r.message,
        ]),
      );
      if (page.has_more) process.stderr.write('more revisions: use --all\n');
    });
  example(cmd, 'hangar apps revisions alice/echo --limit 5');
}

function eventDetail(e: AppEvent): string {
  const p = e.payload;
  return [p.state, p.job_id && `job ${p.job_id}`, p.machine_type, p.reason, p.new_application_id]
    .filter(Boolean)
    .join(' ');
}

function registerEvents(apps: Command): void {
  const cmd = apps
    .command('events')
    .description('List the lifecycle events of an app (runners, deployments, config), newest first')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--category <names>', `only these categories (repeatable, comma-separated)`, collectList)
    .option('--since <when>', 'from (15m, 2h, 7d or a timestamp; default 24h ago)', timeOption)
    .option('--until <when>', 'up to (exclusive; default now)', timeOption)
    .option('--limit <n>', 'events per page (1-1000)', positiveInt)
    .option('--all', 'follow every page')
    .option('--json', 'print JSON')
    .action(
      async (
        appId: string,
        opts: PageOptions & { category?: string[]; since?: string; until?: string },
        c,
      ) => {
        for (const cat of opts.category ?? []) {
          if (!(APP_EVENT_CATEGORIES as readonly string[]).includes(cat)) {
            throw new CliError(
              `unknown category "${cat}"; one of ${APP_EVENT_CATEGORIES.join(', ')}`,
              EXIT.usage,
            );
          }
        }
        const client = connect(globals(c));
        const query = {
          start: opts.since,
          end: opts.until,
          category: opts.category as (typeof APP_EVENT_CATEGORIES)[number][] | undefined,
          limit: opts.limit,
        };
        const page = opts.all
          ? {
              endpoint_id: appId,
              events: await takeAll(client.apps.iterateEvents(appId, query)),
              next_cursor: null,
              has_more: false,
            }
          : await client.apps.events(appId, query);
        if (opts.json) return printJson(page);
        printTable(
          ['TIME', 'CATEGORY', 'DETAIL'],
          page.events.map((e) => [formatTime(e.created_at), e.category, eventDetail(e)]),
        );
        if (page.has_more) process.stderr.write('more events: use --all\n');
      },
    );
  example(cmd, 'hangar apps events alice/echo --since 2h --category runner_started,runner_finished');
}

function registerRunners(apps: Command): void {
  const cmd = apps
    .command('runners')
    .description('Show runner counts by state over time')
    .argument('<app>', 'OWNER/APP', appArg)
    .option('--since <when>', 'from (15m, 2h, 7d or a timestamp; default 24h ago)', timeOption)
    .option('--until <when>', 'up to (exclusive; default now)', timeOption)
    .option('--timeframe <size>', 'bucket size', oneOf(['minute', 'hour', 'day', 'week', 'month'] as const))
    .option('--aggregation <how>', 'max (peak, default) or avg', oneOf(['max', 'avg'] as const))
    .option('--json', 'print JSON')
    .action(async (appId: string, opts, c: Command) => {
      const res = await connect(globals(c)).apps.runnerHistory(appId, {
        start: opts.since,
        end: opts.until,
        timeframe: opts.timeframe,
        aggregation: opts.aggregation,
      });
      if (opts.json) return printJson(res);
      process.stdout.write(`${res.endpoint_id}: ${res.aggregation} runners per ${res.timeframe}\n`);
      printTable(
        ['TIME', 'RUNNING', 'IDLE', 'PENDING', 'DRAINING'],
        res.history.map((h) => [
          formatTime(h.timestamp),
          formatNumber(h.running),
          formatNumber(h.idle),
          formatNumber(h.pending),
          formatNumber(h.draining),
        ]),
      );
    });
  example(cmd, 'hangar apps runners alice/echo --since 6h --timeframe hour');
}

/** `hangar apps list|show|revisions|events|runners|scale|set-rev|rollout|delete|delete-rev`. */
export function registerApps(program: Command): void {
  const apps = program.command('apps').description('Inspect and operate deployed apps');
  registerList(apps);
  registerShow(apps);
  registerRevisions(apps);
  registerEvents(apps);
  registerRunners(apps);
  registerAppOps(apps);
}
