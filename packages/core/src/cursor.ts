import { PlatformError } from './errors.js';

// Cursors are opaque base64url strings of a small versioned JSON array: [version, kind, ...position].
// The position is the sort key and unique id of the last item served (or the next bucket's start), never an
// offset, so paging while rows arrive neither skips nor repeats. `kind` binds a cursor to the listing (and
// sort order) that issued it.

const VERSION = 1;
const MAX_CURSOR_LENGTH = 1024;

/** One component of a cursor position. */
export type CursorValue = string | number | null;

/** Encodes a position of listing `kind` as an opaque cursor. */
export function encodeCursor(kind: string, position: readonly CursorValue[]): string {
  return Buffer.from(JSON.stringify([VERSION, kind, ...position]), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor issued by `encodeCursor(kind, …)` with `arity` position values; anything else (another
 * listing's cursor, garbage, a tampered value) is REQUEST_INVALID.
 */
export function decodeCursor(cursor: string, kind: string, arity: number): CursorValue[] {
  const invalid = () =>
    new PlatformError('REQUEST_INVALID', 'cursor is not a cursor issued by this operation');
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+={0,2}$/.test(cursor)) {
    throw invalid();
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length !== arity + 2 || value[0] !== VERSION || value[1] !== kind) {
    throw invalid();
  }
  const position = value.slice(2) as unknown[];
  const ok = position.every(
    (v) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
  );
  if (!ok) throw invalid();
  return position as CursorValue[];
}

/** The pagination fields of every paged fal response. */
export interface PageInfo {
  next_cursor: string | null;
  has_more: boolean;
}

/** Builds `next_cursor`/`has_more` so that `has_more === (next_cursor !== null)` always holds. */
export function pageInfo(nextCursor: string | null): PageInfo {
  return { next_cursor: nextCursor, has_more: nextCursor !== null };
}

/** The highest fal page number accepted; far beyond any listing a page-number walk would reach. */
export const MAX_PAGE_NUMBER = 1_000_000;

/**
 * The page number of one of fal's page-number cursors (base64 of the decimal number, 1-based: `Mg==` is
 * page 2, padding optional), or null when `cursor` is not one. The two forms cannot be confused: our own
 * cursors decode to a JSON array.
 */
export function falPageNumber(cursor: string): number | null {
  if (cursor.length > 12 || !/^[A-Za-z0-9+/]+={0,2}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64').toString('latin1');
  if (!/^[1-9][0-9]*$/.test(text)) return null;
  if (Buffer.from(text, 'latin1').toString('base64').replace(/=+$/, '') !== cursor.replace(/=+$/, ''))
    return null;
  const page = Number(text);
  if (page > MAX_PAGE_NUMBER)
    throw new PlatformError('REQUEST_INVALID', `cursor pages beyond ${MAX_PAGE_NUMBER} are not served`);
  return page;
}

/** Deepest item a page-number cursor may reach; past it, callers follow `next_cursor` (a keyset position). */
const MAX_PAGE_OFFSET = 100_000;

/** Items before the page that fal's page-number cursor (`Mg==` = page 2) asks for, or 0 for other cursors. */
export function falPageOffset(cursor: string | undefined, limit: number): number {
  const page = cursor === undefined ? null : falPageNumber(cursor);
  if (page === null) return 0;
  const offset = (page - 1) * limit;
  if (offset > MAX_PAGE_OFFSET) {
    throw new PlatformError(
      'REQUEST_INVALID',
      `a page-number cursor may skip at most ${MAX_PAGE_OFFSET} items; follow next_cursor instead`,
    );
  }
  return offset;
}

/** fal's page-number cursor for `page` (`encodeFalPage(2) === 'Mg=='`). */
export function encodeFalPage(page: number): string {
  return Buffer.from(String(page), 'latin1').toString('base64');
}
