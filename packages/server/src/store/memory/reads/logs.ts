import type {
  HistoryBound,
  HistoryPosition,
  LogFilter,
  LogLine,
  LogReads,
  LogsAfterParams,
  LogsHistoryPage,
  LogsHistoryPageParams,
  StoredLogLine,
} from '@hangar/core';
import { lineToEntry } from '../../../api/logs/entry.js';
import { cutHistoryPage, earlier } from '../../../api/logs/history-cursor.js';
import { compileLogMatcher } from '../../../api/logs/match.js';
import { BACKFILL_SKEW_MS } from '../../reads-shared/log-rows.js';
import { FirstK } from './first-k.js';
import { firstIndex, type MemoryReadTables } from './tables.js';

// Log reads over the memory log lines (kept in id order), with the SQLite reads' rules
// (sqlite/reads/logs.ts): history newest first by (ts, id), bounds as (ms, rank) resolved against the
// owner's lines, the backfill in id order, and search as a substring with ASCII letters folded only.

type Line = Readonly<LogLine> & { readonly id?: number };

const idOf = (l: Line) => l.id as number;

/** The filter as a predicate over stored lines: the owner, then the live stream's matcher. */
function matcher(f: LogFilter): (l: Line) => boolean {
  const match = compileLogMatcher(f);
  return (l) => l.owner === f.owner && match(l as LogLine);
}

/** The position of a bound: before the owner's line stamped `ts` that has `ns` older lines stamped `ts`. */
function resolveBound(
  t: MemoryReadTables,
  owner: string,
  b: HistoryBound | HistoryPosition,
): HistoryPosition {
  if (!('ns' in b)) return b;
  if (b.ns === 0) return { ts: b.ts, id: 0 };
  let seen = 0;
  for (const l of t.logs) {
    if (l.owner !== owner || l.ts !== b.ts) continue;
    if (seen++ === b.ns) return { ts: b.ts, id: idOf(l) };
  }
  return { ts: b.ts, id: Number.MAX_SAFE_INTEGER };
}

/** Whether a line lies strictly before a position (id 0: strictly before its millisecond). */
function beforePosition(l: Line, at: HistoryPosition | null): boolean {
  return at === null || l.ts < at.ts || (l.ts === at.ts && idOf(l) < at.id);
}

const newestFirst = (a: Line, b: Line) => b.ts - a.ts || idOf(b) - idOf(a);

function historyPage(t: MemoryReadTables, p: LogsHistoryPageParams): LogsHistoryPage {
  const owner = p.filter.owner;
  const before = p.bounds.map((b) => resolveBound(t, owner, b)).reduce(earlier, null);
  const keep = matcher(p.filter);
  const found = new FirstK<Line>(p.limit + 1, newestFirst);
  for (const l of t.logs) if (beforePosition(l, before) && keep(l)) found.offer(l);
  const rows = found.sorted();
  const rankOf = (ts: number, id: number) => {
    let n = 0;
    for (const l of t.logs) if (l.owner === owner && l.ts === ts && idOf(l) < id) n++;
    return n;
  };
  const { items, next } = cutHistoryPage(rows as (Line & { id: number })[], p.limit, rankOf);
  return { itemsJson: JSON.stringify(items.map((l) => lineToEntry(l as LogLine))), next };
}

function storedLine(l: Line): StoredLogLine {
  const { ts, app, revision, level, message } = l;
  return { id: idOf(l), ts, app, revision, level, message, labels: { ...l.labels } };
}

/** Matching lines with an id above `afterId`, in id order. */
function after(t: MemoryReadTables, p: LogsAfterParams): StoredLogLine[] {
  const keep = matcher(p.filter);
  const out: StoredLogLine[] = [];
  const from = firstIndex(t.logs.length, (x) => idOf(t.logs[x]!) <= p.afterId);
  for (let i = from; i < t.logs.length && out.length < p.limit; i++) {
    const l = t.logs[i]!;
    if (keep(l)) out.push(storedLine(l));
  }
  return out;
}

/**
 * An id below every line of `owner` stamped at or after `start`, allowing for `BACKFILL_SKEW_MS`: the id
 * of the owner's newest line stamped before `start − skew`, else (every line of the owner is that recent)
 * just below the smallest id among lines stamped within the skew of its oldest one; with no line of the
 * owner stamped from `start − skew` on, the newest id of all, as the SQLite reads answer.
 */
function firstIdFrom(t: MemoryReadTables, p: { owner: string; start: number }): number {
  const from = p.start - BACKFILL_SKEW_MS;
  let below: Line | null = null;
  let oldest: Line | null = null;
  let any = false;
  for (const l of t.logs) {
    if (l.owner !== p.owner) continue;
    if (l.ts >= from) any = true;
    else if (below === null || newestFirst(l, below) < 0) below = l;
    if (oldest === null || newestFirst(l, oldest) > 0) oldest = l;
  }
  if (!any) return t.logs.length === 0 ? 0 : idOf(t.logs[t.logs.length - 1]!);
  if (below !== null) return idOf(below);
  let min = Number.MAX_SAFE_INTEGER;
  for (const l of t.logs) {
    if (l.owner === p.owner && l.ts <= (oldest as Line).ts + BACKFILL_SKEW_MS) min = Math.min(min, idOf(l));
  }
  return min - 1;
}

/** The memory log reads. */
export function createMemoryLogReads(t: MemoryReadTables): LogReads {
  return {
    historyPage: async (p) => historyPage(t, p),
    after: async (p) => after(t, p),
    firstIdFrom: async (p) => firstIdFrom(t, p),
  };
}
