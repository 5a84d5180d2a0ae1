import {
  decodeCursor,
  encodeCursor,
  falPageNumber,
  nextBucketStart,
  type PageInfo,
  PlatformError,
  pageInfo,
  type TimeWindow,
} from '@hangar/core';
import { Type } from 'typebox';

// Query-string pieces shared by the time-series operations (analytics, usage).

/** A form/explode parameter: one string (maybe comma-separated) or the repeated values. */
export const MultiString = Type.Union([Type.String(), Type.Array(Type.String())]);

/** `start`, `end`, `timezone`, `timeframe`, `bound_to_timeframe`, `limit`, `cursor` (fal §1.6). */
export const TimeSeriesParams = {
  start: Type.Optional(
    Type.String({ description: 'RFC 3339 date-time or YYYY-MM-DD (midnight in `timezone`)' }),
  ),
  end: Type.Optional(Type.String({ description: 'Exclusive; RFC 3339 date-time or YYYY-MM-DD' })),
  timezone: Type.Optional(Type.String({ default: 'UTC', description: 'IANA time zone for bucketing' })),
  timeframe: Type.Optional(Type.Enum(['minute', 'hour', 'day', 'week', 'month'])),
  bound_to_timeframe: Type.Optional(Type.Enum(['true', 'false'], { default: 'true' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, description: 'Time buckets per page' })),
  cursor: Type.Optional(Type.String()),
};

/** Default and ceiling of `limit` for time-series pages, counted in buckets. */
export const BUCKET_LIMIT = { fallback: 1000, max: 10_000 } as const;

const kindOf = (op: string, win: TimeWindow) => `${op}:${win.timeframe}:${win.timezone}`;

/**
 * The bucket start a cursor resumes from. Our cursors are bound to the operation, timeframe and zone; fal's
 * page-number cursors (`Mg==` = page 2) start at bucket `(page − 1) × limit` of the window (the window end
 * when that is past the last bucket, an empty page).
 */
export function bucketFromCursor(
  op: string,
  cursor: string | undefined,
  win: TimeWindow,
  limit: number,
): number | null {
  if (cursor === undefined) return null;
  const page = falPageNumber(cursor);
  if (page !== null) {
    if (page === 1) return null;
    const skip = (page - 1) * limit;
    if (skip > MAX_SKIPPED_BUCKETS) return win.endMs;
    let start = win.startMs;
    for (let i = 0; i < skip && start < win.endMs; i++)
      start = nextBucketStart(start, win.timeframe, win.timezone);
    return Math.min(start, win.endMs);
  }
  const [start] = decodeCursor(cursor, kindOf(op, win), 1);
  if (typeof start !== 'number')
    throw new PlatformError('REQUEST_INVALID', 'cursor is not a cursor issued by this operation');
  return start;
}

/** More buckets than any window within `limits.max_range_days` holds (a year of minutes is 527,040). */
const MAX_SKIPPED_BUCKETS = 1_000_000;

/** `next_cursor`/`has_more` for a page whose next bucket starts at `nextBucket`. */
export function bucketPage(op: string, nextBucket: number | null, win: TimeWindow): PageInfo {
  return pageInfo(nextBucket === null ? null : encodeCursor(kindOf(op, win), [nextBucket]));
}
