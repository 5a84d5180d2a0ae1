import {
  decodeCursor,
  encodeCursor,
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

/** The bucket start a cursor resumes from (the cursor is bound to the operation, timeframe and zone). */
export function bucketFromCursor(op: string, cursor: string | undefined, win: TimeWindow): number | null {
  if (cursor === undefined) return null;
  const [start] = decodeCursor(cursor, kindOf(op, win), 1);
  if (typeof start !== 'number')
    throw new PlatformError('REQUEST_INVALID', 'cursor is not a cursor issued by this operation');
  return start;
}

/** `next_cursor`/`has_more` for a page whose next bucket starts at `nextBucket`. */
export function bucketPage(op: string, nextBucket: number | null, win: TimeWindow): PageInfo {
  return pageInfo(nextBucket === null ? null : encodeCursor(kindOf(op, win), [nextBucket]));
}
