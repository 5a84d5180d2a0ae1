import { createHash } from 'node:crypto';
import { decodeCursor, encodeCursor, PlatformError } from '@hangar/core';

// A listing page's cursor names the last entry served by its sort key (the entry's name, with a `/`
// appended for a folder: S3's key order), never an offset, so entries created or removed while paging
// neither shift nor repeat the others. Its kind carries a digest of the owner and the folder, so a
// cursor is only accepted by the listing of the folder that issued it, for the owner that received it.

/** Where a page starts and how long it is: the whole listing when both are absent. */
export interface ListWindow {
  /** Sort key of the last entry already served; the page starts after it. */
  afterKey?: string;
  /** At most this many entries (1 to {@link MAX_LIST_LIMIT}). */
  limit?: number;
}

/** One page of a listing: its entries and the sort key to continue after, null on the last page. */
export interface ListPage<T> {
  entries: T[];
  nextKey: string | null;
}

/** The largest `limit` a listing page accepts. */
export const MAX_LIST_LIMIT = 10_000;

/** The sort key of a listing entry: its name, with a `/` appended for a folder. */
export function sortKeyOf(name: string, isFile: boolean): string {
  return isFile ? name : `${name}/`;
}

function kindOf(owner: string, segments: readonly string[]): string {
  const digest = createHash('sha256')
    .update(`${owner}\0${segments.join('/')}`)
    .digest('base64url');
  return `files:${digest.slice(0, 16)}`;
}

/** The opaque cursor continuing the listing of `segments` after the entry with sort key `afterKey`. */
export function encodeListCursor(owner: string, segments: readonly string[], afterKey: string): string {
  return encodeCursor(kindOf(owner, segments), [afterKey]);
}

/**
 * The sort key a cursor continues after. A cursor issued for another folder or owner, or anything that
 * is not one of ours, is REQUEST_INVALID.
 */
export function decodeListCursor(cursor: string, owner: string, segments: readonly string[]): string {
  const [key] = decodeCursor(cursor, kindOf(owner, segments), 1);
  const slash = typeof key === 'string' ? key.indexOf('/') : -1;
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.includes('\0') ||
    (slash !== -1 && slash !== key.length - 1) ||
    // Only the exact text issued: base64 decoding ignores stray trailing characters.
    encodeListCursor(owner, segments, key) !== cursor
  ) {
    throw new PlatformError('REQUEST_INVALID', 'cursor is not a cursor issued by this operation');
  }
  return key;
}
