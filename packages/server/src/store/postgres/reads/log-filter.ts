import type { LabelCondition, LogFilter } from '@hangar/core';
import { C } from './sql.js';

/** Numbered parameters of one statement: `add` returns the placeholder of a value. */
export class Params {
  readonly values: unknown[] = [];

  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** A (ts, id) position in the newest-first order of log lines. */
export type Key = { ts: number; id: number };

/** The label value of a line (NULL when missing), whether `labels` is stored as text or JSONB. */
function label(key: string, p: Params): string {
  return `(labels::jsonb ->> ${p.add(key)}::text)`;
}

/** SQL for one label condition; mirrors `matchesLabel` in api/logs/match.ts (a missing label is NULL). */
function labelSql(c: LabelCondition, p: Params): string {
  const v = label(c.key, p);
  switch (c.op) {
    case 'eq':
      return `${v} = ${p.add(c.values[0])}`;
    case 'ne':
      return `${v} IS DISTINCT FROM ${p.add(c.values[0])}`;
    case 'in':
      return `${v} = ANY(${p.add(c.values)}::text[])`;
    case 'nin':
      return `coalesce(NOT (${v} = ANY(${p.add(c.values)}::text[])), true)`;
  }
}

/** Every condition of a filter except `search`, as SQLite's `baseWhere` has them. */
export function baseWhere(f: LogFilter, p: Params): string[] {
  const where = [`owner = ${p.add(f.owner)}`, `ts >= ${p.add(f.start)}`, `ts < ${p.add(f.end)}`];
  if (f.apps) where.push(`app = ANY(${p.add(f.apps)}::text[])`);
  if (f.levels) where.push(`level = ANY(${p.add(f.levels)}::text[])`);
  if (f.revision !== null) where.push(`revision = ${p.add(f.revision)}`);
  if (f.requestId !== null) where.push(`request_id = ${p.add(f.requestId)}`);
  if (f.jobId !== null) where.push(`job_id = ${p.add(f.jobId)}`);
  if (!f.traceback) where.push("(labels::jsonb ->> 'traceback') IS DISTINCT FROM 'true'");
  if (f.runSource !== null) {
    where.push(
      `coalesce(labels::jsonb ->> 'run_source', CASE WHEN source = 'gateway' THEN 'gateway' ELSE 'grpc-register' END) = ${p.add(f.runSource)}`,
    );
  }
  for (const c of f.labels) where.push(labelSql(c, p));
  return where;
}

/**
 * The exact search condition: the needle as a substring of the message with ASCII letters case-folded
 * (SQLite's `instr(lower(message), lower(?))`; the "C" collation keeps `lower` to ASCII in any locale).
 */
export function needleSql(search: string, p: Params): string {
  return `strpos(lower(message ${C}), lower(${p.add(search)}::text ${C})) > 0`;
}

/**
 * A pattern the pg_trgm index answers (`message ILIKE …`): the needle with LIKE's wildcards and escape
 * character escaped, so it only widens the exact condition by case folding and never drops a match.
 */
export function trigramSql(search: string, p: Params): string {
  const escaped = search.replace(/[\\%_]/g, (ch) => `\\${ch}`);
  return `message ILIKE ${p.add(`%${escaped}%`)}`;
}

/** The (ts, id) cursor conditions. */
export function cursorSql(before: Key | null, after: Key | null, p: Params): string[] {
  const out: string[] = [];
  if (before) {
    const ts = p.add(before.ts);
    out.push(`(ts < ${ts} OR (ts = ${ts} AND id < ${p.add(before.id)}))`);
  }
  if (after) {
    const ts = p.add(after.ts);
    out.push(`(ts > ${ts} OR (ts = ${ts} AND id > ${p.add(after.id)}))`);
  }
  return out;
}

/** The filter's window narrowed to the cursors, so the (owner, ts) index range stops at them. */
export function narrowed(f: LogFilter, before: Key | null, after: Key | null): LogFilter {
  const start = after ? Math.max(f.start, after.ts) : f.start;
  const end = before ? Math.min(f.end, before.ts + 1) : f.end;
  return start === f.start && end === f.end ? f : { ...f, start, end };
}
