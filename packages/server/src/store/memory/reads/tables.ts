import type { AppEvent, LogLine, MeterRecord, RollupRow, RunnerRow, RunnerSample } from '@hangar/core';
import type { MemoryAppTables } from '../catalog.js';
import type { MemoryRequestRow } from '../requests.js';

/**
 * What the memory reads read: the memory stores' own collections, never copies. The reads only read them
 * and copy what they hand out, so a caller never holds a stored object.
 */
export interface MemoryReadTables {
  requests: { readRows(): Iterable<MemoryRequestRow> };
  apps: { readTables(): MemoryAppTables };
  /** Log lines in id order (ids are assigned on append, one above the last). */
  logs: readonly Readonly<LogLine>[];
  /** Events by id (a rewritten id replaces the event, as SQLite's `INSERT OR REPLACE`). */
  events: ReadonlyMap<string, Readonly<AppEvent>>;
  /** Meter rows by (runner, minute). */
  meter: ReadonlyMap<string, Readonly<MeterRecord>>;
  samples: readonly Readonly<RunnerSample>[];
  runners: ReadonlyMap<string, Readonly<RunnerRow>>;
  /** Analytics rollups per (endpoint, UTC minute) as drained; a minute may appear more than once. */
  rollups: readonly Readonly<RollupRow>[];
}

/** Byte-order comparison of ids (JS string order, as SQLite's BINARY and PostgreSQL's "C" give for ids). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether `id` is `sel.id` itself, or a route-level endpoint under it when the selector is bare. */
export function endpointMatcher(sel: readonly { id: string; bare: boolean }[]): (id: string) => boolean {
  const exact = new Set(sel.map((s) => s.id));
  const prefixes = sel.filter((s) => s.bare).map((s) => `${s.id}/`);
  return (id) => exact.has(id) || prefixes.some((p) => id.startsWith(p));
}

/** The first index in `[0, n)` where `before(i)` is false, for a `before` that holds on a prefix only. */
export function firstIndex(n: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
