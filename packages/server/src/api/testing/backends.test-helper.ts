import type { PlatformReads } from '@hangar/core';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { loadMigrations, migratePostgres } from '../../store/postgres/migrate.js';
import { createPostgresReads } from '../../store/postgres/reads/index.js';
import { createSqliteReads } from '../../store/sqlite/reads/index.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { type MirrorTarget, openSqliteMirror } from './sqlite-mirror.test-helper.js';

// The engines the route harness reads from. Tests seed one SQLite file (with SQL or the write ports); on
// PostgreSQL every table the reads use is copied row for row into a migrated database before each request,
// so the same tests, unchanged, ask the PostgreSQL reads and expect the SQLite answers.

/** Reads over the harness's seeded SQLite file, on one engine. */
export interface BackendReads {
  reads: PlatformReads;
  /** Brings the engine up to date with the SQLite file (before each request). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** An engine the harness reads from. */
export interface ReadsBackend {
  name: 'SQLite' | 'PostgreSQL';
  open(sqlitePath: string, poolSize: number): Promise<BackendReads>;
}

/** The embedded default: the SQLite reads (inline, or on `poolSize` worker threads). */
export const sqliteBackend: ReadsBackend = {
  name: 'SQLite',
  async open(dbPath, size) {
    const reads = createSqliteReads({ dbPath, size });
    return { reads, sync: async () => {}, close: () => reads.pool.close() };
  },
};

function postgresBackend(url: () => string): ReadsBackend {
  let target: MirrorTarget | null = null;
  return {
    name: 'PostgreSQL',
    async open(sqlitePath) {
      const pool = new pg.Pool({ connectionString: url(), max: 4 });
      pool.on('error', () => {});
      // Every open of one file's backend shares one database: a mirror refills it after another one did.
      if (target === null) target = { pool, filledBy: null };
      const mirror = openSqliteMirror(sqlitePath, target);
      return {
        reads: createPostgresReads(pool),
        sync: () => mirror.sync(),
        close: async () => {
          mirror.close();
          if (target?.pool === pool) target = null;
          await pool.end();
        },
      };
    },
  };
}

/** Reads for route tests that seed the SQLite file between requests; `close` ends the engine's pool. */
export type SyncedReads = PlatformReads & { close(): Promise<void> };

/** Wraps every method of `area` so it runs after `before()` settles. */
function after<T extends object>(area: T, before: () => Promise<void>): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(area)) {
    if (typeof fn !== 'function') continue;
    out[name] = async (...args: unknown[]) => {
      await before();
      return fn.apply(area, args);
    };
  }
  return out as T;
}

/**
 * The backend's reads over `sqlitePath`, each call preceded by a sync, so tests that read through the
 * reads directly (the logs and apps routes) need no sync of their own. Syncs and the reads after them run
 * one at a time: a read never sees a table another call is refilling.
 */
export async function openSyncedReads(
  backend: ReadsBackend,
  sqlitePath: string,
  poolSize = 0,
): Promise<SyncedReads> {
  const opened = await backend.open(sqlitePath, poolSize);
  if (backend.name === 'SQLite') return Object.assign(opened.reads, { close: opened.close });
  let chain: Promise<unknown> = Promise.resolve();
  const serial =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const run = chain.then(
        () => fn(...args),
        () => fn(...args),
      );
      chain = run.catch(() => {});
      return run;
    };
  const { reads, sync } = opened;
  const wrap = <T extends object>(area: T): T => {
    const synced = after(area, sync);
    for (const [k, fn] of Object.entries(synced)) (synced as Record<string, unknown>)[k] = serial(fn);
    return synced;
  };
  const top = wrap({
    requestsPage: reads.requestsPage.bind(reads),
    analyticsPage: reads.analyticsPage.bind(reads),
    usagePage: reads.usagePage.bind(reads),
  });
  return { ...top, logs: wrap(reads.logs), apps: wrap(reads.apps), close: opened.close };
}

/**
 * Declares `body`'s tests twice: on SQLite, and on PostgreSQL (one server and database per file, skipped
 * with the helper's reason when PostgreSQL is not installed).
 */
export function describeOnBackends(title: string, body: (backend: ReadsBackend) => void): void {
  describe(`${title} (SQLite)`, () => body(sqliteBackend));
  describe.skipIf(postgresMissing !== null)(`${title} (PostgreSQL)`, () => {
    let server: PgTestServer | undefined;
    let url = '';
    beforeAll(async () => {
      server = await startPostgres();
      url = await server.createDatabase();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await migratePostgres(
          { query: async (text, params) => (await c.query(text, params as unknown[])).rows as never },
          await loadMigrations(),
        );
      } finally {
        await c.end();
      }
    });
    afterAll(async () => {
      await server?.close();
    });
    body(postgresBackend(() => url));
  });
}
