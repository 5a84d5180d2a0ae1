import { ANALYTICS_METRICS, type AnalyticsMetric, type AnalyticsRecord } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { formatNumber } from '../format.js';
import { collectList } from '../options.js';
import { CliError, EXIT, printJson, printTable } from '../output.js';
import { globals } from './globals.js';
import { collectSeries, type WindowOptions, windowOptions } from './series.js';

const DEFAULT_METRICS: AnalyticsMetric[] = [
  'request_count',
  'success_count',
  'user_error_count',
  'error_count',
  'p50_duration',
  'p90_duration',
];

function checkMetrics(names: string[] | undefined): AnalyticsMetric[] {
  if (!names || names.length === 0) return DEFAULT_METRICS;
  for (const n of names) {
    if (!(ANALYTICS_METRICS as readonly string[]).includes(n)) {
      throw new CliError(`unknown metric "${n}"; one of ${ANALYTICS_METRICS.join(', ')}`, EXIT.usage);
    }
  }
  return names as AnalyticsMetric[];
}

function cells(r: AnalyticsRecord, metrics: AnalyticsMetric[]): string[] {
  return [r.endpoint_id, ...metrics.map((m) => formatNumber(r[m]))];
}

/** `hangar analytics ENDPOINT…`: request counts, errors and latency percentiles. */
export function registerAnalytics(program: Command): void {
  const cmd = program
    .command('analytics')
    .description('Show request counts, error counts and latency percentiles of your endpoints')
    .argument('<endpoint...>', 'endpoint ids: OWNER/APP (all its routes) or OWNER/APP/ROUTE')
    .option(
      '--metrics <names>',
      `metrics (repeatable, comma-separated; default ${DEFAULT_METRICS.join(',')})`,
      collectList,
    );
  windowOptions(cmd)
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar analytics alice/echo --since 2h --timeframe minute\n' +
        '  $ hangar analytics alice/echo --metrics request_count,p99_duration,cold_boot_count --summary\n' +
        `\nMetrics: ${ANALYTICS_METRICS.join(', ')}\n`,
    )
    .action(async (endpoints: string[], opts: WindowOptions & { metrics?: string[] }, c: Command) => {
      const metrics = checkMetrics(opts.metrics);
      const client = connect(globals(c));
      const res = await collectSeries((cursor) =>
        client.analytics.get({
          endpoint_id: endpoints,
          start: opts.since,
          end: opts.until,
          timeframe: opts.timeframe,
          timezone: opts.tz,
          expand: [opts.summary ? 'summary' : 'time_series', ...metrics],
          cursor,
        }),
      );
      if (opts.json) return printJson(res);
      const head = ['ENDPOINT', ...metrics.map((m) => m.toUpperCase())];
      if (opts.summary)
        return printTable(
          head,
          (res.summary ?? []).map((r) => cells(r, metrics)),
        );
      printTable(
        ['BUCKET', ...head],
        (res.time_series ?? []).flatMap((b) => b.results.map((r) => [b.bucket, ...cells(r, metrics)])),
      );
    });
}
