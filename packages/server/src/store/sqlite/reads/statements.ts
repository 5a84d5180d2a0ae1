import type Database from 'better-sqlite3';

/** A read query: a synchronous function of a connection and structured-cloneable params. */
export type QueryFn<P = never, R = unknown> = (db: Database.Database, params: P) => R;

/** Query functions by name, as a worker or the inline runner dispatches them. */
export type QueryRegistry = Readonly<Record<string, QueryFn<never, unknown>>>;

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();
const MAX_STATEMENTS = 500;

/** A prepared statement cached per connection, so each query shape compiles once per worker. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let byDb = cache.get(db);
  if (!byDb) {
    byDb = new Map();
    cache.set(db, byDb);
  }
  let stmt = byDb.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    if (byDb.size >= MAX_STATEMENTS) byDb.clear();
    byDb.set(sql, stmt);
  }
  return stmt;
}

const TABLE_KEYS = { requests: 'endpoint_id', request_rollups: 'endpoint_id' } as const;

/**
 * Distinct endpoint ids of a table that are `prefix` itself or start with `prefix/`, found by a loose
 * index scan (one index seek per distinct id, not one step per row). Without a prefix: every id.
 */
export function distinctEndpoints(
  db: Database.Database,
  table: keyof typeof TABLE_KEYS,
  prefix?: string,
): string[] {
  const col = TABLE_KEYS[table];
  const out: string[] = [];
  if (prefix !== undefined) {
    const exact = prepared(db, `SELECT 1 FROM ${table} WHERE ${col} = ? LIMIT 1`).get(prefix);
    if (exact) out.push(prefix);
  }
  // '/' + 1 is '0': [prefix/, prefix0) holds exactly the ids under prefix/.
  const lo = prefix === undefined ? '' : `${prefix}/`;
  const hi = prefix === undefined ? '\u{10FFFF}' : `${prefix}0`;
  const first = prepared(db, `SELECT MIN(${col}) AS id FROM ${table} WHERE ${col} >= ? AND ${col} < ?`);
  const next = prepared(db, `SELECT MIN(${col}) AS id FROM ${table} WHERE ${col} > ? AND ${col} < ?`);
  let row = first.get(lo, hi) as { id: string | null };
  while (row.id !== null) {
    out.push(row.id);
    row = next.get(row.id, hi) as { id: string | null };
  }
  return out;
}
