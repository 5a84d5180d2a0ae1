import type { KeysetBefore as Before } from '@hangar/core';
import { decodeCursor, encodeCursor, falPageNumber, PlatformError, pageInfo } from '@hangar/core';

// Newest-first keyset paging over (created_at, id): the cursor holds the last item served.

/** The position a page continues after, from a cursor issued for listing `kind` (400 otherwise). */
export function afterCursor(cursor: string | undefined, kind: string): Before {
  if (cursor === undefined || falPageNumber(cursor) !== null) return null;
  const [t, k] = decodeCursor(cursor, kind, 2);
  if (typeof t !== 'number' || typeof k !== 'string') {
    throw new PlatformError('REQUEST_INVALID', 'cursor is not a cursor issued by this operation');
  }
  return { t, k };
}

/** Trims the extra row a query fetched and builds `next_cursor`/`has_more` from the last item kept. */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  kind: string,
  positionOf: (row: T) => [number, string],
): { items: T[]; next_cursor: string | null; has_more: boolean } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const next = rows.length > limit && last !== undefined ? encodeCursor(kind, positionOf(last)) : null;
  return { items, ...pageInfo(next) };
}
