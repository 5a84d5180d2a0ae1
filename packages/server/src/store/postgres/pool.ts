import { PlatformError } from '@hangar/core';
import pg from 'pg';
import { NulSafeClient } from './nul-safe.js';
import type { PgSession } from './session.js';

/** Options of the connection pool of one node. */
export interface PostgresPoolOptions {
  /** Connections (default 10): one is the writer's while it commits, the rest serve reads. */
  poolSize?: number;
  /** Name shown in `pg_stat_activity` (e.g. `hangar:<node>`). */
  applicationName?: string;
  /** How long to wait for a connection before the database counts as unavailable (default 2,000 ms). */
  connectTimeoutMs?: number;
}

const INT8 = 20;
const NUMERIC = 1700;

// Epoch ms and counters are BIGINT; every value Hangar keeps fits a JS number exactly (< 2^53).
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** Opens a pool on `url`; connections are made on demand, so an unreachable server fails the first query. */
export function openPool(url: string, opts: PostgresPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    application_name: opts.applicationName ?? 'hangar',
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    types,
    Client: NulSafeClient,
  });
  // An idle connection dropped by a server restart emits here; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** A `PgSession` over one connection (a pool client or a pool, for single statements). */
export function sessionOf(c: pg.PoolClient | pg.Pool | pg.Client): PgSession {
  return {
    query: async <T>(text: string, params?: readonly unknown[]) =>
      (await c.query(text, params as unknown[] | undefined)).rows as T[],
  };
}

const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const CONNECTION_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * True when the error says the database could not be reached or went away (connection refused or lost,
 * server shutting down, too many connections), as opposed to an error of the statement itself.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && (CONNECTION_SQLSTATE.test(e.code) || CONNECTION_ERRNO.has(e.code)))
    return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    msg,
  );
}

/** Seconds a caller is told to wait (`Retry-After`) while the database is unavailable. */
export const RETRY_AFTER_S = 2;

/** The error callers see while PostgreSQL is unreachable: 503 with `Retry-After`, no connection details. */
export function databaseUnavailable(): PlatformError {
  return new PlatformError('DATABASE_UNAVAILABLE', undefined, { 'retry-after': String(RETRY_AFTER_S) });
}

/** Runs a read, translating an unreachable database into `DATABASE_UNAVAILABLE`. */
export async function read<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw isConnectionError(err) ? databaseUnavailable() : err;
  }
}
