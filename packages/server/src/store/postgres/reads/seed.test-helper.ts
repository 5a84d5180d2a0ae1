// The reads world (reads-world.test-helper.ts) written through the SQLite write ports, then copied row for
// row into a migrated PostgreSQL database, so every read can be asked of both engines and compared.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RollupRow } from '@hangar/core';
import type Database from 'better-sqlite3';
import pg from 'pg';
import { writeWorld } from '../../reads-world.test-helper.js';
import { createSqliteStores, openReadOnly } from '../../sqlite/index.js';
import { loadMigrations, migratePostgres } from '../migrate.js';

/** The seeded SQLite file (read-only connection) and the PostgreSQL pool holding the same rows. */
export interface SeededWorld {
  sqlite: Database.Database;
  sqlitePath: string;
  pool: pg.Pool;
  rollupRows: RollupRow[];
  close(): Promise<void>;
}

async function seedSqlite(path: string): Promise<RollupRow[]> {
  const s = createSqliteStores({ path });
  try {
    return await writeWorld(s);
  } finally {
    await s.close();
  }
}

/** Tables copied as they are; request_rollups is written by the PostgreSQL rollup sink under test. */
export const COPIED = [
  'owners',
  'apps',
  'revisions',
  'app_settings',
  'requests',
  'logs',
  'events',
  'runner_samples',
  'meter',
  'runners',
];

/** Copies every row of a SQLite table into the same PostgreSQL table (columns both have). */
export async function copyTable(src: Database.Database, pool: pg.Pool, table: string): Promise<void> {
  const all = src.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
  const pgCols = (
    await pool.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1', [table])
  ).rows.map((r) => r.column_name as string);
  for (let i = 0; i < all.length; i += 200) {
    const chunk = all.slice(i, i + 200);
    const cols = Object.keys(chunk[0]!).filter((c) => pgCols.includes(c));
    const params: unknown[] = [];
    const values = chunk.map((r) => `(${cols.map((c) => `$${params.push(r[c])}`).join(', ')})`);
    await pool.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${values.join(', ')}`, params);
  }
}

/** Seeds SQLite, migrates `url` and copies the rows into it. */
export async function seedWorld(url: string): Promise<SeededWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-pg-reads-'));
  const sqlitePath = join(dir, 'world.db');
  const rollupRows = await seedSqlite(sqlitePath);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // Idle connections report a server that went away here (the outage test stops it).
  pool.on('error', () => {});
  await migratePostgres(
    { query: async (text, params) => (await pool.query(text, params as unknown[])).rows as never },
    await loadMigrations(),
  );
  const sqlite = openReadOnly(sqlitePath);
  for (const t of COPIED) await copyTable(sqlite, pool, t);
  return {
    sqlite,
    sqlitePath,
    pool,
    rollupRows,
    async close() {
      sqlite.close();
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
