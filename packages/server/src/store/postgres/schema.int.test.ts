import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { loadMigrations, migratePostgres } from './migrate.js';
import { partitionName, runPostgresMaintenance } from './partitions.js';
import type { PgSession } from './session.js';

const DAY = 86_400_000;

async function connect(url: string): Promise<{ db: PgSession; client: pg.Client }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const db: PgSession = {
    query: async <T>(text: string, params?: readonly unknown[]) =>
      (await client.query(text, params as unknown[])).rows as T[],
  };
  return { db, client };
}

describe.skipIf(postgresMissing !== null)('PostgreSQL schema', () => {
  let server: PgTestServer;
  const clients: pg.Client[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await server?.close();
  });
  const open = async (url: string) => {
    const c = await connect(url);
    clients.push(c.client);
    return c.db;
  };

  it('creates every SQLite table with the same columns, once, when several nodes start together', async () => {
    const url = await server.createDatabase();
    const migrations = await loadMigrations();
    expect(migrations.map((m) => m.version).slice(0, 2)).toEqual([1, 2]);
    const sessions = await Promise.all([open(url), open(url), open(url)]);
    const results = await Promise.all(sessions.map((db) => migratePostgres(db, migrations)));
    const applied = results.flatMap((r) => r.applied).sort((a, b) => a - b);
    expect(applied).toEqual(migrations.map((m) => m.version));
    const db = sessions[0] as PgSession;
    const cols = await db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name IN ('requests', 'logs', 'runners', 'secrets', 'meter_rollups')`,
    );
    const of = (t: string) => cols.filter((c) => c.table_name === t).map((c) => c.column_name);
    expect(of('requests')).toEqual(
      expect.arrayContaining(['result_headers', 'payload_objects', 'raw_input']),
    );
    expect(of('runners')).toEqual(expect.arrayContaining(['state_since', 'state_times', 'gpu_usage']));
    expect(of('logs')).toEqual(expect.arrayContaining(['id', 'labels', 'job_id']));
    expect(of('secrets')).toContain('sealed');
    expect(of('meter_rollups')).toContain('seconds');
    expect((await migratePostgres(db, migrations)).applied).toEqual([]);
  });

  it('refuses a database migrated by a newer Hangar, with DATABASE_SCHEMA_NEWER', async () => {
    const url = await server.createDatabase();
    const db = await open(url);
    const migrations = await loadMigrations();
    await migratePostgres(db, migrations);
    await db.query(`INSERT INTO schema_migrations VALUES (999, 'future', 0)`);
    await expect(migratePostgres(db, migrations)).rejects.toMatchObject({
      code: 'DATABASE_SCHEMA_NEWER',
      message: expect.stringContaining('999'),
    });
    // The lock is released: a second refusal comes at once instead of waiting for ever.
    await expect(migratePostgres(await open(url), migrations)).rejects.toMatchObject({
      code: 'DATABASE_SCHEMA_NEWER',
    });
  });

  it('keeps meter_rollups equal to meter through inserts, updates and deletes', async () => {
    const db = await open(await server.createDatabase());
    await migratePostgres(db, await loadMigrations());
    const row = (runner: string, minute: number, seconds: number) =>
      db.query(
        `INSERT INTO meter VALUES ($1, $2, 'o', 'a', 'prod', 'cpu', 0, $3)
         ON CONFLICT (runner_id, minute) DO UPDATE SET seconds = excluded.seconds`,
        [runner, minute, seconds],
      );
    await row('r1', 60_000, 30);
    await row('r2', 120_000, 20);
    await row('r1', 60_000, 60);
    await db.query(`DELETE FROM meter WHERE runner_id = 'r2'`);
    const sums = await db.query<{ span: string; seconds: number }>(
      'SELECT span, seconds FROM meter_rollups ORDER BY span',
    );
    expect(sums.map((s) => [Number(s.span), s.seconds])).toEqual([
      [900_000, 60],
      [3_600_000, 60],
    ]);
  });

  it('creates partitions ahead, moves stray rows out of DEFAULT, drops expired partitions', async () => {
    const db = await open(await server.createDatabase());
    await migratePostgres(db, await loadMigrations());
    const now = Date.UTC(2026, 0, 10, 12);
    // A line written before any daily partition existed lands in logs_default.
    await db.query(
      `INSERT INTO logs (ts, owner, app, revision, level, message, labels)
      VALUES ($1, 'o', 'a', 'r', 'info', 'early', '{}')`,
      [now],
    );
    const first = await runPostgresMaintenance(db, now, { requests: 90, logs: 2, samples: 0 });
    expect(first.created).toContain(partitionName('logs', Date.UTC(2026, 0, 10)));
    expect(first.created).toContain(partitionName('logs', Date.UTC(2026, 0, 17)));
    const where = await db.query<{ t: string }>(`SELECT tableoid::regclass::text AS t FROM logs`);
    expect(where).toEqual([{ t: 'logs_p20260110' }]);
    expect((await runPostgresMaintenance(db, now)).created).toEqual([]);

    const later = now + 5 * DAY;
    await db.query(
      `INSERT INTO logs (ts, owner, app, revision, level, message, labels)
      VALUES ($1, 'o', 'a', 'r', 'info', 'old', '{}')`,
      [1000],
    );
    const second = await runPostgresMaintenance(db, later, { requests: 90, logs: 2, samples: 0 });
    expect(second.dropped).toEqual(
      expect.arrayContaining(['logs_p20260110', 'logs_p20260111', 'logs_p20260112']),
    );
    expect(second.dropped).not.toContain('logs_p20260113');
    expect(second.dropped.some((n) => n.startsWith('runner_samples'))).toBe(false);
    expect(second.deletedFromDefault).toBe(1);
    expect(await db.query('SELECT message FROM logs')).toEqual([]);
  });
});
