import type { HangarClient, LabelFilter, LogEntry, LogsQuery } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { collect, collectList, positiveInt } from '../options.js';
import { CliError, dim, EXIT, printJson, red } from '../output.js';
import { timeOption } from '../time.js';
import { globals } from './globals.js';

interface LogsOptions {
  app?: string[];
  request?: string;
  level?: string;
  search?: string;
  label: string[];
  revision?: string;
  job?: string;
  since?: string;
  until?: string;
  limit: number;
  follow?: boolean;
  json?: boolean;
}

/** Parses `KEY=VALUE` (equals), `KEY!=VALUE` (not_equals); a comma list makes it `in`/`not_in`. */
export function parseLabel(text: string): LabelFilter {
  const m = /^([^=!]+)(!?=)(.*)$/.exec(text);
  if (!m?.[1] || m[3] === undefined) {
    throw new CliError(`--label expects KEY=VALUE or KEY!=VALUE, got "${text}"`, EXIT.usage);
  }
  const negate = m[2] === '!=';
  const values = m[3].split(',');
  if (values.length > 1) return { key: m[1], value: values, condition_type: negate ? 'not_in' : 'in' };
  return { key: m[1], value: m[3], condition_type: negate ? 'not_equals' : 'equals' };
}

const LEVEL_PAINT: Record<string, (s: string) => string> = {
  error: red,
  critical: red,
  fatal: red,
  debug: dim,
};

/** One human line for a log entry. */
export function formatLogLine(e: LogEntry): string {
  const level = e.level.toLowerCase();
  const paint = LEVEL_PAINT[level] ?? ((s: string) => s);
  return `${dim(e.timestamp)} ${paint(level.toUpperCase().padEnd(5))} ${dim(e.app)} ${e.message}`;
}

async function history(client: HangarClient, query: LogsQuery, labels: LabelFilter[], opts: LogsOptions) {
  const items: LogEntry[] = [];
  for await (const e of client.logs.iterate({ ...query, limit: Math.min(opts.limit, 1000) }, labels)) {
    items.push(e);
    if (items.length >= opts.limit) break;
  }
  if (opts.json) return printJson(items);
  for (const e of items.reverse()) process.stdout.write(`${formatLogLine(e)}\n`);
}

async function follow(client: HangarClient, query: LogsQuery, labels: LabelFilter[], json: boolean) {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const lines = client.logs.stream(query, labels, {
    signal: abort.signal,
    onReconnect: ({ attempt, lastEventId }) =>
      process.stderr.write(
        dim(`connection lost; resuming after event ${lastEventId ?? '-'} (attempt ${attempt})\n`),
      ),
  });
  try {
    for await (const { id: _id, ...entry } of lines) {
      process.stdout.write(json ? `${JSON.stringify(entry)}\n` : `${formatLogLine(entry)}\n`);
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
}

/** `hangar logs`: log history, or `--follow` to tail live lines. */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description('Show log lines of your apps (oldest first), or follow them live')
    .option('--app <ids>', 'only these apps, OWNER/APP (repeatable, comma-separated)', collectList)
    .option('--request <id>', 'only lines of this request')
    .option('--level <level>', 'minimum level: debug, info, warn, error')
    .option('--search <text>', 'only lines containing this text')
    .option('--label <k=v>', 'label filter KEY=VALUE, KEY!=VALUE, KEY=A,B (repeatable)', collect, [])
    .option('--revision <id>', 'only lines of this revision')
    .option('--job <id>', 'only lines of this runner (job id)')
    .option(
      '--since <when>',
      'from (15m, 2h, 7d or a timestamp; default 24h ago, or now with --follow)',
      timeOption,
    )
    .option('--until <when>', 'up to (exclusive; default now)', timeOption)
    .option('--limit <n>', 'most recent lines to show (default 100)', positiveInt, 100)
    .option('-f, --follow', 'keep streaming new lines (resumes by itself after a dropped connection)')
    .option('--json', 'print JSON (one object per line with --follow)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar logs --app alice/echo --since 15m --level warn\n' +
        '  $ hangar logs --request 0b9f…  --label fal_job_id=1234\n' +
        '  $ hangar logs --app alice/echo --follow\n',
    )
    .action(async (opts: LogsOptions, c: Command) => {
      const labels = opts.label.map(parseLabel);
      const query: LogsQuery = {
        app_id: opts.app,
        request_id: opts.request,
        level: opts.level,
        search: opts.search,
        revision: opts.revision,
        job_id: opts.job,
        start: opts.since,
        end: opts.until,
      };
      const client = connect(globals(c));
      if (opts.follow) return follow(client, query, labels, Boolean(opts.json));
      return history(client, query, labels, opts);
    });
}
