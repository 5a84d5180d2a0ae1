import type { UsageResponse, UsageRow } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { formatCost, formatNumber, formatSeconds } from '../format.js';
import { collectList } from '../options.js';
import { bold, printJson, printTable } from '../output.js';
import { globals } from './globals.js';
import { collectSeries, type WindowOptions, windowOptions } from './series.js';

interface UsageOptions extends WindowOptions {
  app?: string[];
  search?: string;
}

/** Total cost per currency, as one line: `total: $1.2345 USD (3600 machine-seconds)`. */
export function totalLine(rows: readonly UsageRow[]): string {
  const byCurrency = new Map<string, number>();
  let seconds = 0;
  for (const r of rows) {
    byCurrency.set(r.currency, (byCurrency.get(r.currency) ?? 0) + r.cost_total);
    seconds += r.quantity;
  }
  if (byCurrency.size === 0) byCurrency.set('USD', 0);
  const costs = [...byCurrency].map(([currency, amount]) => formatCost(amount, currency)).join(' + ');
  return `total: ${costs} (${formatNumber(seconds)} machine-seconds)`;
}

function rowCells(r: UsageRow): string[] {
  return [
    r.app ?? '-',
    r.machine_type,
    r.is_surge ? 'yes' : '',
    formatSeconds(r.quantity),
    `${r.unit_price}/s`,
    r.percent_discount === null ? '' : `${r.percent_discount}%`,
    formatCost(r.cost_total, r.currency),
  ];
}

const HEAD = ['APP', 'MACHINE', 'SURGE', 'TIME', 'UNIT PRICE', 'DISCOUNT', 'COST'];

function printUsage(res: UsageResponse, summaryOnly: boolean): void {
  if (!summaryOnly) {
    const rows = (res.time_series ?? []).flatMap((b) => b.results.map((r) => [b.bucket, ...rowCells(r)]));
    printTable(['BUCKET', ...HEAD], rows);
  } else {
    printTable(HEAD, (res.summary ?? []).map(rowCells));
  }
  const all = res.summary ?? (res.time_series ?? []).flatMap((b) => b.results);
  process.stdout.write(`${bold(totalLine(all))}\n`);
}

/** `hangar usage`: priced machine time of your apps (ADMIN key). */
export function registerUsage(program: Command): void {
  const cmd = program
    .command('usage')
    .description('Show machine time and cost of your apps, with a cost total (needs an ADMIN key)')
    .option('--app <names>', 'only these apps (repeatable, comma-separated)', collectList)
    .option('--search <text>', 'only apps whose name contains this');
  windowOptions(cmd)
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar usage --since 7d --timeframe day --tz Europe/Paris\n' +
        '  $ hangar usage --app echo --summary --json\n',
    )
    .action(async (opts: UsageOptions, c: Command) => {
      const client = connect(globals(c));
      const expand: ('time_series' | 'summary')[] = opts.summary ? ['summary'] : ['time_series', 'summary'];
      const res = await collectSeries((cursor) =>
        client.usage.get({
          app: opts.app,
          search: opts.search,
          start: opts.since,
          end: opts.until,
          timeframe: opts.timeframe,
          timezone: opts.tz,
          expand,
          cursor,
        }),
      );
      if (opts.json) return printJson(res);
      printUsage(res, Boolean(opts.summary));
    });
}
