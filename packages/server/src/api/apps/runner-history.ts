import {
  type Bucket,
  DAY_MS,
  findBucket,
  HOUR_MS,
  listBuckets,
  MINUTE_MS,
  PlatformError,
  type RunnerSampleBucket,
  type TimeWindow,
} from '@hangar/core';
import { isoUtc } from './time-window.js';

/** Most buckets one runner-history answer may hold. */
export const MAX_HISTORY_BUCKETS = 10_000;

/** The window's buckets; 400 when there would be more than `MAX_HISTORY_BUCKETS`. */
export function historyBuckets(win: TimeWindow): Bucket[] {
  const buckets = listBuckets(win, MAX_HISTORY_BUCKETS + 1);
  if (buckets.length > MAX_HISTORY_BUCKETS) {
    throw new PlatformError(
      'REQUEST_INVALID',
      `more than ${MAX_HISTORY_BUCKETS} ${win.timeframe} buckets; use a larger timeframe`,
    );
  }
  return buckets;
}

/**
 * The fixed width (from the aligned window start) the database groups samples by: the timeframe itself,
 * or days for calendar weeks and months, which are then folded here. Runner history is always UTC.
 */
export function baseWidth(win: TimeWindow): number {
  return win.timeframe === 'minute' ? MINUTE_MS : win.timeframe === 'hour' ? HOUR_MS : DAY_MS;
}

/** One point of the answer. */
export interface HistoryPoint {
  timestamp: string;
  running: number;
  idle: number;
  pending: number;
  draining: number;
}

const FIELDS = ['running', 'idle', 'pending', 'draining'] as const;

/**
 * Folds fixed-width aggregates into the buckets and fills buckets without samples with zeros: `max` takes
 * the peak, `avg` the mean over all samples in the bucket.
 */
export function foldRunnerHistory(
  rows: readonly RunnerSampleBucket[],
  win: TimeWindow,
  buckets: readonly Bucket[],
  aggregation: 'max' | 'avg',
): HistoryPoint[] {
  const width = baseWidth(win);
  const acc = buckets.map(() => ({ n: 0, max: [0, 0, 0, 0], sum: [0, 0, 0, 0] }));
  for (const r of rows) {
    const a = acc[findBucket(buckets, win.startMs + r.b * width)];
    if (!a) continue;
    a.n += r.n;
    FIELDS.forEach((f, i) => {
      a.max[i] = Math.max(a.max[i]!, r[`max_${f}`]);
      a.sum[i]! += r[`sum_${f}`];
    });
  }
  return buckets.map((b, j) => {
    const a = acc[j]!;
    const value = (i: number) => (a.n === 0 ? 0 : aggregation === 'max' ? a.max[i]! : a.sum[i]! / a.n);
    return {
      timestamp: isoUtc(b.start),
      running: value(0),
      idle: value(1),
      pending: value(2),
      draining: value(3),
    };
  });
}
