import type { PlatformReads } from '@hangar/core';
import { afterAll, beforeAll } from 'vitest';
import { type PgTestServer, startPostgres } from '../../../test-services/postgres.test-helper.js';
import { sqliteReads } from '../../reads-world.test-helper.js';
import type { SqliteReads } from '../../sqlite/reads/index.js';
import { createPostgresReads, createPostgresRollupSink } from './index.js';
import { type SeededWorld, seedWorld } from './seed.test-helper.js';

/** The seeded world of a test file, its PostgreSQL reads and what they warned about. */
export interface WorldFixture {
  server: PgTestServer;
  world: SeededWorld;
  reads: PlatformReads;
  /** The same reads on the SQLite file the world was written to: the reference. */
  sqlite: SqliteReads;
  warnings: string[];
}

function fail(err: unknown): never {
  throw err;
}

/**
 * Registers a PostgreSQL server and the seeded world for the calling test file. The analytics rollups are
 * written by two PostgreSQL rollup sinks at once (two nodes), merging into the same hour and day cells.
 */
export function useSeededWorld(): WorldFixture {
  const fx = { warnings: [] as string[] } as WorldFixture;
  beforeAll(async () => {
    fx.server = await startPostgres();
    fx.world = await seedWorld(await fx.server.createDatabase());
    const sinks = [
      createPostgresRollupSink(fx.world.pool, fail),
      createPostgresRollupSink(fx.world.pool, fail),
    ];
    const rows = fx.world.rollupRows;
    for (let i = 0; i < rows.length; i += 25) sinks[(i / 25) % 2]!.record(rows.slice(i, i + 25));
    await Promise.all(sinks.map((s) => s.flush()));
    fx.sqlite = sqliteReads(fx.world.sqlitePath);
    fx.reads = createPostgresReads(fx.world.pool, { warn: (m) => fx.warnings.push(m) });
  }, 120_000);
  afterAll(async () => {
    await fx.sqlite?.pool.close();
    await fx.world?.close();
    await fx.server?.close();
  });
  return fx;
}
