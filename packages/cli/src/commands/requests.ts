import type { ListRequestsResponse, RequestsQuery, ServerlessRequestItem } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { formatNumber, formatSeconds, formatTime } from '../format.js';
import { oneOf, positiveInt } from '../options.js';
import { green, printJson, printTable, red } from '../output.js';
import { timeOption } from '../time.js';
import { globals } from './globals.js';

interface RequestsOptions {
  status?: 'success' | 'error' | 'user_error';
  since?: string;
  until?: string;
  requestId?: string;
  sort?: 'ended_at' | 'duration';
  billing?: boolean;
  payloads?: boolean;
  limit?: number;
  all?: boolean;
  json?: boolean;
}

function statusText(code: number | null | undefined): string {
  if (code === null || code === undefined) return '-';
  return code < 400 ? green(String(code)) : red(String(code));
}

function rowOf(r: ServerlessRequestItem, billing: boolean): (string | null)[] {
  const row = [
    r.request_id,
    r.endpoint_id,
    statusText(r.status_code),
    formatSeconds(r.duration),
    formatTime(r.ended_at ?? r.started_at),
  ];
  if (billing) row.push(formatNumber(r.billable_units));
  return row;
}

async function fetchRequests(
  client: ReturnType<typeof connect>,
  query: RequestsQuery,
  all: boolean,
): Promise<ListRequestsResponse> {
  if (!all) return client.requests.byEndpoint(query);
  const items: ServerlessRequestItem[] = [];
  for await (const item of client.requests.iterate(query)) items.push(item);
  return { items, next_cursor: null, has_more: false };
}

/** `hangar requests ENDPOINT…`: requests made to your endpoints. */
export function registerRequests(program: Command): void {
  program
    .command('requests')
    .description('List requests made to your endpoints (newest first)')
    .argument('<endpoint...>', 'endpoint ids: OWNER/APP (all its routes) or OWNER/APP/ROUTE')
    .option(
      '--status <status>',
      'success, error or user_error',
      oneOf(['success', 'error', 'user_error'] as const),
    )
    .option('--since <when>', 'from (15m, 2h, 7d or a timestamp; default 24h ago)', timeOption)
    .option('--until <when>', 'up to (exclusive; default now)', timeOption)
    .option('--request-id <id>', 'only this request (searches the last 90 days)')
    .option('--sort <field>', 'ended_at (default) or duration', oneOf(['ended_at', 'duration'] as const))
    .option('--billing', 'include billable units')
    .option('--payloads', 'include JSON input and output (shown with --json)')
    .option('--limit <n>', 'requests per page (1-100, default 50)', positiveInt)
    .option('--all', 'follow every page')
    .option('--json', 'print JSON ({items, next_cursor, has_more})')
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar requests alice/echo --since 2h --status error\n' +
        '  $ hangar requests alice/echo alice/other --billing --all --json\n',
    )
    .action(async (endpoints: string[], opts: RequestsOptions, c: Command) => {
      const expand: ('payloads' | 'billing')[] = [];
      if (opts.payloads) expand.push('payloads');
      if (opts.billing) expand.push('billing');
      const query: RequestsQuery = {
        endpoint_id: endpoints,
        status: opts.status,
        start: opts.since,
        end: opts.until,
        request_id: opts.requestId,
        sort_by: opts.sort,
        limit: opts.limit,
        expand: expand.length > 0 ? expand : undefined,
      };
      const page = await fetchRequests(connect(globals(c)), query, Boolean(opts.all));
      if (opts.json) return printJson(page);
      const headers = ['REQUEST ID', 'ENDPOINT', 'STATUS', 'DURATION', 'ENDED'];
      if (opts.billing) headers.push('UNITS');
      printTable(
        headers,
        page.items.map((r) => rowOf(r, Boolean(opts.billing))),
      );
      if (page.has_more) process.stderr.write('more requests: use --all, or --limit up to 100\n');
    });
}
