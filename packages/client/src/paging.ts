import type { Query } from './http.js';
import type { Paged } from './types.js';

/** Walks every page of a cursor-paged operation, yielding the items of each page in order. */
export async function* paginate<P extends Paged, T>(
  fetchPage: (cursor: string | undefined) => Promise<P>,
  itemsOf: (page: P) => readonly T[],
): AsyncGenerator<T> {
  let cursor: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(cursor);
    yield* itemsOf(page);
    if (!page.has_more || page.next_cursor === null) return;
    // A server that hands back a cursor it already gave would loop forever.
    if (seen.has(page.next_cursor)) return;
    seen.add(page.next_cursor);
    cursor = page.next_cursor;
  }
}

/** Treats a typed parameter object as query parameters (undefined values are dropped by the transport). */
export function asQuery(params: object | undefined): Query {
  return (params ?? {}) as Query;
}

/** Encodes a storage or endpoint path segment by segment, keeping its slashes. */
export function encodePath(path: string): string {
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}
