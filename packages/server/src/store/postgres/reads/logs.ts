import {
  DAY_MS,
  type HistoryBound,
  type HistoryPosition,
  type LogFilter,
  type LogsAfterParams,
  type LogsHistoryPage,
  type LogsHistoryPageParams,
} from '@hangar/core';
import { lineToEntry } from '../../../api/logs/entry.js';
import { cutHistoryPage, earlier } from '../../../api/logs/history-cursor.js';
import { BACKFILL_SKEW_MS, type LogRow } from '../../reads-shared/log-rows.js';
import { baseWhere, cursorSql, type Key, narrowed, needleSql, Params, trigramSql } from './log-filter.js';
import { num, one, rows, type SqlClient } from './sql.js';

/** Params of `logsHistory`: newest first, strictly before `before` (ts, id) when given. */
interface LogsHistoryParams {
  filter: LogFilter;
  before: HistoryPosition | null;
  /** Rows to return; one more is fetched to tell whether another page exists. */
  limit: number;
}

// Output names shadow the columns in ORDER BY: every ORDER BY here names the table's columns (logs.ts).
const COLUMNS = 'id::float8 AS id, ts::float8 AS ts, app, revision, level, message, labels::text AS labels';

/** Newest lines a search checks directly before it asks the trigram index for the rest of the window. */
const QUICK_SCAN = 1_000;

/** How a search finds candidates: through the pg_trgm index, or by checking every line of the window. */
export interface SearchMode {
  trigram: boolean;
}

function normalise(r: LogRow): LogRow {
  return { ...r, id: num(r.id), ts: num(r.ts) };
}

/** Rows matching the filter (without `search`) and `extra`, newest first, between the cursors. */
async function historyPage(
  db: SqlClient,
  f: LogFilter,
  extra: ((p: Params) => string)[],
  before: Key | null,
  after: Key | null,
  limit: number,
): Promise<LogRow[]> {
  const p = new Params();
  const where = [...baseWhere(narrowed(f, before, after), p), ...extra.map((e) => e(p))];
  where.push(...cursorSql(before, after, p));
  const sql = `SELECT ${COLUMNS} FROM logs WHERE ${where.join(' AND ')} ORDER BY logs.ts DESC, logs.id DESC LIMIT ${p.add(limit)}`;
  return (await rows<LogRow>(db, sql, p.values)).map(normalise);
}

/** The first (ts, id) key past the owner's newest `lines` lines in the window, or null when the window is smaller. */
async function budgetEdge(
  db: SqlClient,
  f: LogFilter,
  before: Key | null,
  lines: number,
): Promise<Key | null> {
  const g = narrowed(f, before, null);
  const p = new Params();
  const where = [`owner = ${p.add(g.owner)}`, `ts >= ${p.add(g.start)}`, `ts < ${p.add(g.end)}`];
  where.push(...cursorSql(before, null, p));
  const sql = `SELECT ts::float8 AS ts, id::float8 AS id FROM logs WHERE ${where.join(' AND ')}
    ORDER BY logs.ts DESC, logs.id DESC LIMIT 1 OFFSET ${p.add(lines)}`;
  const row = await one<Key>(db, sql, p.values);
  return row ? { ts: num(row.ts), id: num(row.id) } : null;
}

/** Code points of a needle the trigram index can serve (pg_trgm needs three characters in a row). */
function indexable(search: string): boolean {
  return Array.from(search).length >= 3;
}

/**
 * A search page: the owner's newest `QUICK_SCAN` lines are checked directly (a common needle fills its
 * page there); the rest of the window is read through the pg_trgm index, then checked exactly.
 */
async function searchPage(
  db: SqlClient,
  p: LogsHistoryParams,
  search: string,
  mode: SearchMode,
): Promise<LogRow[]> {
  const f = p.filter;
  const want = p.limit + 1;
  // PostgreSQL text never holds NUL, so no stored line contains such a needle.
  if (search.includes('\u0000')) return [];
  const needle = (q: Params) => needleSql(search, q);
  if (!mode.trigram || !indexable(search)) return historyPage(db, f, [needle], p.before, null, want);
  const edge = await budgetEdge(db, f, p.before, QUICK_SCAN);
  const head = await historyPage(db, f, [needle], p.before, edge, want);
  if (edge === null || head.length >= want) return head;
  const next = { ts: edge.ts, id: edge.id + 1 };
  const trigram = (q: Params) => trigramSql(search, q);
  const out = [...head];
  const whole: [number, number] = [f.start, edge.ts + 1];
  const cuts = (await inDefault(db, f.owner, ...whole)) ? [whole] : slices(...whole);
  for (const [start, end] of cuts) {
    const slice = { ...f, start, end };
    out.push(...(await historyPage(db, slice, [trigram, needle], next, null, want - out.length)));
    if (out.length >= want) break;
  }
  return out;
}

/**
 * Whether the owner has lines of `[start, end)` in the DEFAULT partition (written before their day's
 * partition existed). Its one trigram index covers all of those days, so slicing would scan it per slice:
 * such a window is searched in one query, as a whole.
 */
async function inDefault(db: SqlClient, owner: string, start: number, end: number): Promise<boolean> {
  const sql = 'SELECT 1 AS x FROM logs_default WHERE owner = $1 AND ts >= $2 AND ts < $3 LIMIT 1';
  return (await one(db, sql, [owner, start, end])) !== undefined;
}

/**
 * The window `[start, end)` cut at UTC midnights into slices newest first, one day, then two, four, …
 * Logs are partitioned by UTC day: each slice's query plans and scans only its own days' partitions and a
 * page that fills in the newest days stops there. One query over a month sorted every candidate of all
 * 31 partitions (the planner, expecting few matches per partition, does not stop early) and took ~15 ms
 * to plan.
 */
export function slices(start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  let hi = end;
  let days = 1;
  while (hi > start) {
    const lo = Math.max(start, (Math.ceil(hi / DAY_MS) - days) * DAY_MS);
    out.push([lo, hi]);
    hi = lo;
    if (out.length > 1) days *= 2;
  }
  return out;
}

/** A page of history, newest first, with one extra row when more exist. */
export function logsHistory(db: SqlClient, p: LogsHistoryParams, mode: SearchMode): Promise<LogRow[]> {
  if (p.filter.search === null) return historyPage(db, p.filter, [], p.before, null, p.limit + 1);
  return searchPage(db, p, p.filter.search, mode);
}

/** The stream's backfill and catch-up: matching lines after `afterId`, in id order. */
export async function logsAfter(db: SqlClient, p: LogsAfterParams): Promise<LogRow[]> {
  const q = new Params();
  const where = [`id > ${q.add(p.afterId)}`, ...baseWhere(p.filter, q)];
  if (p.filter.search !== null) {
    if (p.filter.search.includes('\u0000')) return [];
    where.push(needleSql(p.filter.search, q));
  }
  const sql = `SELECT ${COLUMNS} FROM logs WHERE ${where.join(' AND ')} ORDER BY logs.id LIMIT ${q.add(p.limit)}`;
  return (await rows<LogRow>(db, sql, q.values)).map(normalise);
}

const FIRST_AT =
  'SELECT id::float8 AS id FROM logs WHERE owner = $1 AND ts >= $2 ORDER BY logs.ts, logs.id LIMIT 1';
const LAST_BEFORE =
  'SELECT id::float8 AS id FROM logs WHERE owner = $1 AND ts < $2 ORDER BY logs.ts DESC, logs.id DESC LIMIT 1';

/** An id below every line of `owner` stamped at or after `start` (allowing for `BACKFILL_SKEW_MS`). */
export async function logsFirstIdFrom(db: SqlClient, p: { owner: string; start: number }): Promise<number> {
  const first = await one(db, FIRST_AT, [p.owner, p.start - BACKFILL_SKEW_MS]);
  if (first === undefined) {
    const max = await one<{ m: number }>(db, 'SELECT coalesce(max(id), 0)::float8 AS m FROM logs');
    return num(max?.m ?? 0);
  }
  const below = await one<{ id: number }>(db, LAST_BEFORE, [p.owner, p.start - BACKFILL_SKEW_MS]);
  if (below !== undefined) return num(below.id);
  const sql = `SELECT min(id)::float8 AS m FROM logs
    WHERE owner = $1 AND ts <= (SELECT ts FROM logs WHERE owner = $1 ORDER BY ts, id LIMIT 1) + $2`;
  const min = await one<{ m: number }>(db, sql, [p.owner, BACKFILL_SKEW_MS]);
  return num(min?.m ?? 0) - 1;
}

/** The position of a bound: before the owner's line stamped `ts` that has `ns` older lines stamped `ts`. */
async function resolveBound(
  db: SqlClient,
  owner: string,
  b: HistoryBound | HistoryPosition,
): Promise<HistoryPosition> {
  if (!('ns' in b)) return b;
  if (b.ns === 0) return { ts: b.ts, id: 0 };
  const sql =
    'SELECT id::float8 AS id FROM logs WHERE owner = $1 AND ts = $2 ORDER BY logs.id LIMIT 1 OFFSET $3';
  const row = await one<{ id: number }>(db, sql, [owner, b.ts, b.ns]);
  return { ts: b.ts, id: row ? num(row.id) : Number.MAX_SAFE_INTEGER };
}

/** `logsHistory` as the route answers it: fal's entries serialised, and the next cursor. */
export async function logsHistoryPage(
  db: SqlClient,
  p: LogsHistoryPageParams,
  mode: SearchMode,
): Promise<LogsHistoryPage> {
  const owner = p.filter.owner;
  const bounds = await Promise.all(p.bounds.map((b) => resolveBound(db, owner, b)));
  const before = bounds.reduce<HistoryPosition | null>(earlier, null);
  const found = await logsHistory(db, { filter: p.filter, limit: p.limit, before }, mode);
  // The rank is needed only when the page ends inside a millisecond: fetch it before cutting.
  let rank = 0;
  const last = found[p.limit - 1];
  if (found.length > p.limit && last && found[p.limit]!.ts === last.ts) {
    const sql = 'SELECT count(*)::int AS n FROM logs WHERE owner = $1 AND ts = $2 AND id < $3';
    rank = num((await one<{ n: number }>(db, sql, [owner, last.ts, last.id]))?.n ?? 0);
  }
  const { items, next } = cutHistoryPage(found, p.limit, () => rank);
  return {
    itemsJson: JSON.stringify(items.map((r) => lineToEntry({ ...r, owner, labels: JSON.parse(r.labels) }))),
    next,
  };
}
