import type {
  HistoryBound,
  HistoryPosition,
  LabelCondition,
  LogFilter,
  LogsAfterParams,
  LogsHistoryPage,
  LogsHistoryPageParams,
  StoredLogLine,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { rowToEntry } from '../../../api/logs/entry.js';
import { cutHistoryPage, earlier } from '../../../api/logs/history-cursor.js';
import { BACKFILL_SKEW_MS, type LogRow, storedLine } from '../../reads-shared/log-rows.js';
import { candidateQuery, needleTrigrams, newestCandidates, trigramDensities } from './search-index.js';
import { prepared } from './statements.js';

const COLUMNS = 'id, ts, app, revision, level, message, labels';

/** SQL for one label condition; mirrors `matchesLabel` in match.ts (a missing label is NULL). */
function labelSql(c: LabelCondition, params: unknown[]): string {
  params.push(`$."${c.key}"`);
  const marks = c.values.map(() => '?').join(', ');
  switch (c.op) {
    case 'eq':
      params.push(c.values[0]);
      return 'json_extract(labels, ?) = ?';
    case 'ne':
      params.push(c.values[0]);
      return 'json_extract(labels, ?) IS NOT ?';
    case 'in':
      params.push(...c.values);
      return `json_extract(labels, ?) IN (${marks})`;
    case 'nin':
      params.push(...c.values);
      return `coalesce(json_extract(labels, ?) NOT IN (${marks}), 1)`;
  }
}

/** The WHERE clause (without the keyword) of a filter, and its parameters; `search` goes through FTS. */
export function logWhere(f: LogFilter): { sql: string; params: unknown[] } {
  const w = baseWhere(f);
  if (f.search !== null) searchSql(f.search, w.where, w.params);
  return { sql: w.where.join(' AND '), params: w.params };
}

/** Every condition of a filter except `search`. */
function baseWhere(f: LogFilter): { where: string[]; params: unknown[] } {
  const where = ['owner = ?', 'ts >= ?', 'ts < ?'];
  const params: unknown[] = [f.owner, f.start, f.end];
  const inList = (col: string, values: string[]) => {
    where.push(`${col} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  if (f.apps) inList('app', f.apps);
  if (f.levels) inList('level', f.levels);
  const equal = (col: string, value: string | null) => {
    if (value === null) return;
    where.push(`${col} = ?`);
    params.push(value);
  };
  equal('revision', f.revision);
  equal('request_id', f.requestId);
  equal('job_id', f.jobId);
  if (!f.traceback) {
    where.push("(instr(labels, 'traceback') = 0 OR json_extract(labels, '$.traceback') IS NOT 'true')");
  }
  if (f.runSource !== null) {
    where.push(
      "coalesce(json_extract(labels, '$.run_source'), CASE WHEN source = 'gateway' THEN 'gateway' ELSE 'grpc-register' END) = ?",
    );
    params.push(f.runSource);
  }
  for (const c of f.labels) where.push(labelSql(c, params));
  return { where, params };
}

/**
 * Substring search through the trigram index. `%` and `_` in the needle act as wildcards in LIKE, so
 * those needles get an exact `instr` re-check on top of the (then wider) indexed match.
 */
function searchSql(search: string, where: string[], params: unknown[]): void {
  where.push('id IN (SELECT rowid FROM logs_fts WHERE message LIKE ?)');
  params.push(`%${search}%`);
  if (/[%_]/.test(search)) {
    where.push('instr(lower(message), lower(?)) > 0');
    params.push(search);
  }
}

/** Params of `logsHistory`: newest first, strictly before `before` (ts, id) when given. */
export interface LogsHistoryParams {
  filter: LogFilter;
  before: { ts: number; id: number } | null;
  /** Rows to return; one more is fetched to tell whether another page exists. */
  limit: number;
}

/** Lines of the owner's time index a search page reads directly before it turns to the FTS index. */
export const SEARCH_SCAN_BUDGET = 10_000;

type Key = { ts: number; id: number };

/** A page of history, newest first, with one extra row when more exist. */
export function logsHistory(
  db: Database.Database,
  p: LogsHistoryParams,
  budget = SEARCH_SCAN_BUDGET,
): LogRow[] {
  if (p.filter.search === null) return historyPage(db, p.filter, null, p.before, null, p.limit + 1);
  return searchPage(db, p, p.filter.search, budget);
}

/** Lines a search scans before it probes the trigram index: enough for a common needle's page. */
const QUICK_SCAN = 1_000;

/**
 * A search page. The owner's newest lines are scanned with `instr` first (`QUICK_SCAN` of them, up to
 * `budget` when the needle's rarest trigram is common enough to fill the page within that many lines);
 * the rest of the window comes from the trigram index (see search-index.ts).
 */
function searchPage(db: Database.Database, p: LogsHistoryParams, search: string, budget: number): LogRow[] {
  const f = p.filter;
  const want = p.limit + 1;
  const needle: Condition = { sql: 'instr(lower(message), lower(?)) > 0', params: [search] };
  const trigrams = needleTrigrams(search);
  if (trigrams.length === 0) return historyPage(db, f, needle, p.before, null, want);
  const quick = Math.min(budget, QUICK_SCAN);
  const head = scanHead(db, f, needle, p.before, quick, want);
  if (head.done) return head.rows;
  const densities = trigramDensities(db, trigrams);
  const rarest = densities[0]?.density ?? 0;
  if (rarest === 0) return head.rows; // a trigram of the needle is in no line, so nothing matches
  let rows = head.rows;
  let before = head.next;
  if (rarest * budget >= want && budget > quick) {
    const more = scanHead(db, f, needle, before, budget - quick, want - rows.length);
    rows = [...rows, ...more.rows];
    if (more.done) return rows;
    before = more.next;
  }
  return [...rows, ...indexedPage(db, f, needle, before, want - rows.length, candidateQuery(densities))];
}

/**
 * Matches among the owner's newest `lines` lines strictly before `before`. `done` when that fills the
 * page or covers the window; otherwise `next` is the cursor that continues past the scanned lines.
 */
function scanHead(
  db: Database.Database,
  f: LogFilter,
  needle: Condition,
  before: Key | null,
  lines: number,
  want: number,
): { rows: LogRow[]; done: boolean; next: Key | null } {
  const edge = budgetEdge(db, f, before, lines);
  if (edge === null) return { rows: historyPage(db, f, needle, before, null, want), done: true, next: null };
  const rows = historyPage(db, f, needle, before, edge, want);
  return { rows, done: rows.length >= want, next: { ts: edge.ts, id: edge.id + 1 } };
}

/**
 * Rows matching the filter and `needle` strictly before `before`, newest first, checked among the FTS
 * candidates of `query` in the id range that holds the window's lines.
 */
function indexedPage(
  db: Database.Database,
  f: LogFilter,
  needle: Condition,
  before: Key | null,
  want: number,
  query: string,
): LogRow[] {
  const g = narrowed(f, before, null);
  if (g.end <= g.start) return [];
  const lo = ownerIdBelow(db, f.owner, g.start) ?? 0;
  const hi = ownerIdAbove(db, f.owner, g.end) ?? Number.MAX_SAFE_INTEGER;
  const w = pageWhere(g, needle, before, null);
  const sql = `SELECT ${COLUMNS} FROM logs NOT INDEXED WHERE id IN (SELECT value FROM json_each(?)) AND ${w.sql}`;
  const verify = prepared(db, sql);
  const check = (ids: number[]) => verify.all(JSON.stringify(ids), ...w.params) as LogRow[];
  return newestCandidates(db, { query, lo, hi, want, skewMs: BACKFILL_SKEW_MS }, check);
}

/** The first (ts, id) key past the owner's newest `budget` lines in the window, or null when the window is smaller. */
function budgetEdge(db: Database.Database, f: LogFilter, before: Key | null, budget: number): Key | null {
  const g = narrowed(f, before, null);
  let sql = 'SELECT ts, id FROM logs WHERE owner = ? AND ts >= ? AND ts < ?';
  const params: unknown[] = [g.owner, g.start, g.end];
  if (before) {
    sql += ' AND (ts < ? OR (ts = ? AND id < ?))';
    params.push(before.ts, before.ts, before.id);
  }
  sql += ' ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?';
  return (prepared(db, sql).get(...params, budget) as Key | undefined) ?? null;
}

/** An extra SQL condition and its parameters. */
type Condition = { sql: string; params: unknown[] };

/**
 * The filter's window narrowed to the cursors, so the (owner, ts) index range stops at them (the planner
 * does not derive a range from the `ts < ? OR (ts = ? AND id < ?)` terms).
 */
function narrowed(f: LogFilter, before: Key | null, after: Key | null): LogFilter {
  const start = after ? Math.max(f.start, after.ts) : f.start;
  const end = before ? Math.min(f.end, before.ts + 1) : f.end;
  return start === f.start && end === f.end ? f : { ...f, start, end };
}

/** The WHERE clause of a page: the filter (without `search`), `extra`, and the (ts, id) cursors. */
function pageWhere(f: LogFilter, extra: Condition | null, before: Key | null, after: Key | null): Condition {
  const w = baseWhere(f);
  if (extra) {
    w.where.push(extra.sql);
    w.params.push(...extra.params);
  }
  if (before) {
    w.where.push('(ts < ? OR (ts = ? AND id < ?))');
    w.params.push(before.ts, before.ts, before.id);
  }
  if (after) {
    w.where.push('(ts > ? OR (ts = ? AND id > ?))');
    w.params.push(after.ts, after.ts, after.id);
  }
  return { sql: w.where.join(' AND '), params: w.params };
}

/** Rows matching the filter and `extra`, newest first, strictly before `before` and strictly after `after` (ts, id). */
function historyPage(
  db: Database.Database,
  f: LogFilter,
  extra: Condition | null,
  before: Key | null,
  after: Key | null,
  limit: number,
): LogRow[] {
  const w = pageWhere(narrowed(f, before, after), extra, before, after);
  const sql = `SELECT ${COLUMNS} FROM logs WHERE ${w.sql} ORDER BY ts DESC, id DESC LIMIT ?`;
  return prepared(db, sql).all(...w.params, limit) as LogRow[];
}

/**
 * The stream's backfill and catch-up: matching lines in id order (the order live lines arrive in) after
 * `afterId`. Walks the rowid range, which is cheap when `afterId` is recent (see `logsFirstIdFrom`).
 */
export function logsAfter(db: Database.Database, p: LogsAfterParams): StoredLogLine[] {
  const w = logWhere(p.filter);
  const sql = `SELECT ${COLUMNS} FROM logs NOT INDEXED WHERE id > ? AND ${w.sql} ORDER BY id LIMIT ?`;
  return (prepared(db, sql).all(p.afterId, ...w.params, p.limit) as LogRow[]).map(storedLine);
}

/** The id of `owner`'s newest line stamped before `t − SKEW`: every line of `owner` stamped at or after `t` has a larger id. */
function ownerIdBelow(db: Database.Database, owner: string, t: number): number | null {
  const sql = 'SELECT id FROM logs WHERE owner = ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT 1';
  const row = prepared(db, sql).get(owner, t - BACKFILL_SKEW_MS) as { id: number } | undefined;
  return row?.id ?? null;
}

/** The id of `owner`'s oldest line stamped at or after `t + SKEW`: every line of `owner` stamped before `t` has a smaller id. */
function ownerIdAbove(db: Database.Database, owner: string, t: number): number | null {
  const sql = 'SELECT id FROM logs WHERE owner = ? AND ts >= ? ORDER BY ts, id LIMIT 1';
  const row = prepared(db, sql).get(owner, t + BACKFILL_SKEW_MS) as { id: number } | undefined;
  return row?.id ?? null;
}

/** An id below every line of `owner` stamped at or after `start` (allowing for `BACKFILL_SKEW_MS`). */
export function logsFirstIdFrom(db: Database.Database, p: { owner: string; start: number }): number {
  const first = prepared(db, 'SELECT id FROM logs WHERE owner = ? AND ts >= ? ORDER BY ts, id LIMIT 1').get(
    p.owner,
    p.start - BACKFILL_SKEW_MS,
  );
  // No line of the owner is stamped that late: any later one gets a larger id than every line so far.
  if (first === undefined) {
    return (prepared(db, 'SELECT coalesce(max(id), 0) AS m FROM logs').get() as { m: number }).m;
  }
  const below = ownerIdBelow(db, p.owner, p.start);
  if (below !== null) return below;
  // Every line of the owner is that recent: start below its smallest id, which belongs to a line stamped
  // within the skew of its oldest line (a line with a smaller id than the oldest is stamped at most that much later).
  const sql = `SELECT min(id) AS m FROM logs
    WHERE owner = ? AND ts <= (SELECT ts FROM logs WHERE owner = ? ORDER BY ts, id LIMIT 1) + ?`;
  return (prepared(db, sql).get(p.owner, p.owner, BACKFILL_SKEW_MS) as { m: number }).m - 1;
}

/** The position of a bound: before the owner's line stamped `ts` that has `ns` older lines stamped `ts`. */
function resolveBound(
  db: Database.Database,
  owner: string,
  b: HistoryBound | HistoryPosition,
): HistoryPosition {
  if (!('ns' in b)) return b;
  if (b.ns === 0) return { ts: b.ts, id: 0 };
  const sql = 'SELECT id FROM logs WHERE owner = ? AND ts = ? ORDER BY id LIMIT 1 OFFSET ?';
  const row = prepared(db, sql).get(owner, b.ts, b.ns) as { id: number } | undefined;
  return { ts: b.ts, id: row?.id ?? Number.MAX_SAFE_INTEGER };
}

/** `logsHistory` as the route answers it, mapped to fal's entries and serialised off the gateway's thread. */
export function logsHistoryPage(db: Database.Database, p: LogsHistoryPageParams): LogsHistoryPage {
  const owner = p.filter.owner;
  const before = p.bounds.map((b) => resolveBound(db, owner, b)).reduce(earlier, null);
  const rankSql = 'SELECT count(*) AS n FROM logs WHERE owner = ? AND ts = ? AND id < ?';
  const rankOf = (ts: number, id: number) => (prepared(db, rankSql).get(owner, ts, id) as { n: number }).n;
  const { items, next } = cutHistoryPage(logsHistory(db, { ...p, before }), p.limit, rankOf);
  return { itemsJson: JSON.stringify(items.map((r) => rowToEntry(storedLine(r)))), next };
}
