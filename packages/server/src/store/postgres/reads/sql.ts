import type { Pool, PoolClient } from 'pg';

/**
 * What the read queries need of a connection: parameterised text (`$1`, `$2`, …) and rows back. A `pg`
 * Pool or PoolClient fits; the SQL stays client-agnostic so another driver can stand behind it.
 */
export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A pool that also lends one connection for a read transaction (one snapshot over several queries). */
export type SqlPool = Pick<Pool, 'query' | 'connect'>;

/** Rows of a query, typed by the caller. */
export async function rows<R>(db: SqlClient, text: string, params: unknown[] = []): Promise<R[]> {
  return (await db.query(text, params)).rows as R[];
}

/** The first row of a query, or undefined. */
export async function one<R>(db: SqlClient, text: string, params: unknown[] = []): Promise<R | undefined> {
  return (await db.query(text, params)).rows[0] as R | undefined;
}

/**
 * Runs `fn` in one read-only REPEATABLE READ transaction, so every query sees the same snapshot (what a
 * SQLite read transaction gives the embedded store).
 */
export function inSnapshot<T>(pool: SqlPool, fn: (db: SqlClient) => Promise<T>): Promise<T> {
  return transaction(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
}

/** Runs `fn` in a read-write transaction on one pooled connection. */
export function inTransaction<T>(pool: SqlPool, fn: (db: SqlClient) => Promise<T>): Promise<T> {
  return transaction(pool, 'BEGIN', fn);
}

async function transaction<T>(pool: SqlPool, begin: string, fn: (db: SqlClient) => Promise<T>): Promise<T> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query(begin);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** A BIGINT, NUMERIC or float column as a JS number (drivers hand BIGINT back as text). */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/** `num` that keeps null. */
export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

/**
 * Ids compare by code point (byte order) everywhere, as SQLite's BINARY collation and JS `<` do, whatever
 * the database's default collation.
 */
export const C = 'COLLATE "C"';
