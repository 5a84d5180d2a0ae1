import {
  decodeCursor,
  type HistoryBound,
  type HistoryPosition,
  PlatformError,
  parseInstant,
} from '@hangar/core';

// fal documents the logs history `next_cursor` as a timestamp to pass back as the exclusive upper bound
// ("until") of the next page. Lines are stamped in whole milliseconds, and many lines can share one, so
// a cursor reads each line's instant as its millisecond plus its rank in nanoseconds: the line stamped
// T that has n older lines of the same owner stamped T sits at T + n ns. The cursor of a page is the
// instant of its last line, an RFC 3339 timestamp: a plain millisecond (`…:44.123Z`) when the page
// holds the rest of that millisecond, else with 9 fraction digits (`…:44.123000042Z`). Passed back
// verbatim, as `cursor` or as `end`, it resumes exactly: no line is lost or repeated, and lines that
// arrive later get larger ids, so they never shift the rank of an older line.

export type { HistoryBound, HistoryPosition } from '@hangar/core';

const FRACTION = /T\d{2}:\d{2}:\d{2}\.(\d+)/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T|$)/;
/** Ranks a cursor can carry (nanoseconds in a millisecond). */
const MAX_RANK = 999_999;

/** The cursor after a page whose last line is stamped `ts` and has `rank` older lines stamped `ts`. */
export function encodeHistoryCursor(ts: number, rank: number): string {
  const iso = new Date(ts).toISOString();
  return rank === 0 ? iso : `${iso.slice(0, -1)}${String(Math.min(rank, MAX_RANK)).padStart(6, '0')}Z`;
}

/**
 * Reads a history cursor or `end`: a timestamp (any RFC 3339 form or a date; digits past the millisecond
 * are a rank, see above), or a cursor of the opaque form this server issued before (still accepted).
 */
export function parseHistoryBound(value: string, param: string): HistoryBound | HistoryPosition {
  if (TIMESTAMP.test(value)) {
    const sub = (FRACTION.exec(value)?.[1] ?? '').slice(3, 9).padEnd(6, '0');
    return { ts: parseInstant(value, param), ns: Number(sub) };
  }
  const [ts, id] = decodeCursor(value, 'logs', 2);
  if (typeof ts !== 'number' || typeof id !== 'number')
    throw new PlatformError('REQUEST_INVALID', `${param} is not a timestamp or a cursor of this listing`);
  return { ts, id };
}

/** One row's sort key. */
interface Keyed {
  ts: number;
  id: number;
}

/**
 * Cuts fetched rows (newest first, up to `limit + 1`) into a page and the cursor after it. `rankOf` counts
 * the owner's lines stamped `ts` with a smaller id, asked only when the page ends inside a millisecond.
 */
export function cutHistoryPage<T extends Keyed>(
  rows: readonly T[],
  limit: number,
  rankOf: (ts: number, id: number) => number,
): { items: T[]; next: string | null } {
  if (rows.length <= limit) return { items: [...rows], next: null };
  const items = rows.slice(0, limit);
  const last = items[limit - 1]!;
  const rank = rows[limit]!.ts === last.ts ? rankOf(last.ts, last.id) : 0;
  return { items, next: encodeHistoryCursor(last.ts, rank) };
}

/** The earlier of two resolved positions (null when neither is set). */
export function earlier(a: HistoryPosition | null, b: HistoryPosition | null): HistoryPosition | null {
  if (!a || !b) return a ?? b;
  if (a.ts !== b.ts) return a.ts < b.ts ? a : b;
  if (a.id === 0 || b.id === 0) return a.id === 0 ? a : b;
  return a.id < b.id ? a : b;
}
