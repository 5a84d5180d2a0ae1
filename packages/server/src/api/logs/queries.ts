import type Database from 'better-sqlite3';
import { prepared } from '../../query/statements.js';
import type { LabelCondition, LogFilter } from './filter.js';

/** A `logs` row as the queries return it (labels still JSON, parsed on the main thread). */
export interface LogRow {
  id: number;
  ts: number;
  app: string;
  revision: string;
  level: string;
  message: string;
  labels: string;
}

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
  if (p.filter.search === null) return historyPage(db, logWhere(p.filter), p.before, null, p.limit + 1);
  return searchPage(db, p, budget);
}

/**
 * A search page: common needles fill it from the newest `budget` lines of the owner's (ts, id) index
 * checked with `instr`; the FTS index only covers what lies past those lines, so rare needles stay cheap too.
 */
function searchPage(db: Database.Database, p: LogsHistoryParams, budget: number): LogRow[] {
  const f = p.filter;
  const want = p.limit + 1;
  const edge = budgetEdge(db, f.owner, f.start, f.end, p.before, budget);
  const base = baseWhere(f);
  const scan = {
    sql: [...base.where, 'instr(lower(message), lower(?)) > 0'].join(' AND '),
    params: [...base.params, f.search],
  };
  if (edge === null) return historyPage(db, scan, p.before, null, want);
  const head = historyPage(db, scan, p.before, edge, want);
  if (head.length >= want) return head;
  const tail = historyPage(db, logWhere(f), { ts: edge.ts, id: edge.id + 1 }, null, want - head.length);
  return [...head, ...tail];
}

/** The first (ts, id) key past the owner's newest `budget` lines in the window, or null when the window is smaller. */
function budgetEdge(
  db: Database.Database,
  owner: string,
  start: number,
  end: number,
  before: Key | null,
  budget: number,
): Key | null {
  let sql = 'SELECT ts, id FROM logs WHERE owner = ? AND ts >= ? AND ts < ?';
  const params: unknown[] = [owner, start, end];
  if (before) {
    sql += ' AND (ts < ? OR (ts = ? AND id < ?))';
    params.push(before.ts, before.ts, before.id);
  }
  sql += ' ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?';
  return (prepared(db, sql).get(...params, budget) as Key | undefined) ?? null;
}

/** Rows matching `w`, newest first, strictly before `before` and strictly after `after` (ts, id). */
function historyPage(
  db: Database.Database,
  w: { sql: string; params: unknown[] },
  before: Key | null,
  after: Key | null,
  limit: number,
): LogRow[] {
  let sql = `SELECT ${COLUMNS} FROM logs WHERE ${w.sql}`;
  const params = [...w.params];
  if (before) {
    sql += ' AND (ts < ? OR (ts = ? AND id < ?))';
    params.push(before.ts, before.ts, before.id);
  }
  if (after) {
    sql += ' AND (ts > ? OR (ts = ? AND id > ?))';
    params.push(after.ts, after.ts, after.id);
  }
  sql += ' ORDER BY ts DESC, id DESC LIMIT ?';
  params.push(limit);
  return prepared(db, sql).all(...params) as LogRow[];
}

/** Params of `logsAfter`: lines with id greater than `afterId`, oldest id first. */
export interface LogsAfterParams {
  filter: LogFilter;
  afterId: number;
  limit: number;
}

/**
 * The stream's backfill and catch-up: matching lines in id order (the order live lines arrive in) after
 * `afterId`. Walks the rowid range, which is cheap when `afterId` is recent (see `logsFirstIdFrom`).
 */
export function logsAfter(db: Database.Database, p: LogsAfterParams): LogRow[] {
  const w = logWhere(p.filter);
  const sql = `SELECT ${COLUMNS} FROM logs NOT INDEXED WHERE id > ? AND ${w.sql} ORDER BY id LIMIT ?`;
  return prepared(db, sql).all(p.afterId, ...w.params, p.limit) as LogRow[];
}

/** How far (ms) a line's timestamp may trail lines appended before it; bounds backfill's starting id. */
export const BACKFILL_SKEW_MS = 60_000;

/** An id below every line of `owner` stamped at or after `start` (allowing for `BACKFILL_SKEW_MS`). */
export function logsFirstIdFrom(db: Database.Database, p: { owner: string; start: number }): number {
  const row = prepared(db, 'SELECT id FROM logs WHERE owner = ? AND ts >= ? ORDER BY ts, id LIMIT 1').get(
    p.owner,
    p.start - BACKFILL_SKEW_MS,
  ) as { id: number } | undefined;
  return row
    ? row.id - 1
    : (prepared(db, 'SELECT coalesce(max(id), 0) AS m FROM logs').get() as { m: number }).m;
}

/** The logs queries, by registry name (a query-pool module: its `queries` export is merged). */
export const queries = {
  'logs.history': logsHistory,
  'logs.after': logsAfter,
  'logs.firstIdFrom': logsFirstIdFrom,
} as const;
