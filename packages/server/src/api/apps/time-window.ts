import { DAY_MS, PlatformError, parseInstant } from '@hangar/core';

/** A half-open interval [start, end) in epoch ms. */
export interface TimeWindow {
  start: number;
  end: number;
}

/**
 * Resolves optional `start`/`end` filters (RFC 3339 or YYYY-MM-DD, `end` exclusive) for listings that
 * filter by time without bucketing (logs, events): `end` defaults to now and `start` to 24 h before it.
 * Unlike time series, the bounds are used exactly as given (no alignment to a timeframe).
 */
export function resolveWindow(q: { start?: string; end?: string }, now: number): TimeWindow {
  const end = q.end === undefined ? now : parseInstant(q.end, 'end');
  const start = q.start === undefined ? end - DAY_MS : parseInstant(q.start, 'start');
  if (start > end) throw new PlatformError('REQUEST_INVALID', 'start must not be after end');
  return { start, end };
}

/** ISO 8601 UTC with milliseconds, the timestamp form of every response here. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
