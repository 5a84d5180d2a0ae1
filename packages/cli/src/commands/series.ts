import type { Paged } from '@hangar/client';
import type { Command } from 'commander';
import { oneOf } from '../options.js';
import { timeOption } from '../time.js';

/** A time-series page as usage and analytics answer it. */
export interface SeriesPage<R> extends Paged {
  time_series?: { bucket: string; results: R[] }[];
  summary?: R[];
}

/** Window options shared by usage and analytics. */
export interface WindowOptions {
  since?: string;
  until?: string;
  timeframe?: 'minute' | 'hour' | 'day' | 'week' | 'month';
  tz?: string;
  summary?: boolean;
  json?: boolean;
}

/** Adds `--since --until --timeframe --tz --summary --json` to a command. */
export function windowOptions(cmd: Command): Command {
  return cmd
    .option('--since <when>', 'from (15m, 2h, 7d, a date or a timestamp; default 24h ago)', timeOption)
    .option('--until <when>', 'up to (exclusive; default now)', timeOption)
    .option(
      '--timeframe <size>',
      'bucket size (default: by range length)',
      oneOf(['minute', 'hour', 'day', 'week', 'month'] as const),
    )
    .option('--tz <zone>', 'IANA time zone buckets are aligned to (default UTC)')
    .option('--summary', 'totals over the whole window instead of a time series')
    .option('--json', 'print JSON');
}

/** Fetches every page of a bucketed series: buckets are concatenated, the summary kept from page one. */
export async function collectSeries<R>(
  fetchPage: (cursor: string | undefined) => Promise<SeriesPage<R>>,
): Promise<SeriesPage<R>> {
  const first = await fetchPage(undefined);
  const out: SeriesPage<R> = { ...first, next_cursor: null, has_more: false };
  let page = first;
  const seen = new Set<string>();
  while (page.has_more && page.next_cursor !== null && !seen.has(page.next_cursor)) {
    seen.add(page.next_cursor);
    page = await fetchPage(page.next_cursor);
    if (page.time_series) out.time_series = [...(out.time_series ?? []), ...page.time_series];
  }
  return out;
}
