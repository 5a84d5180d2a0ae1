import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stores } from '@hangar/core';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../../test-services/postgres.test-helper.js';
import { describeReadContract } from '../../read-contract.js';
import { createSqliteStores, openReadOnly } from '../../sqlite/index.js';
import { loadMigrations, migratePostgres } from '../migrate.js';
import { createPostgresReads, createPostgresRollupSink } from './index.js';
import { COPIED, copyTable } from './seed.test-helper.js';

// The read contract on PostgreSQL. Until the PostgreSQL write stores are on this branch, the contract's
// writes go through the SQLite write ports and every `flush` copies the written tables into PostgreSQL,
// where the reads (and the rollup sink) under test run: reads see only what the write ports wrote.

let server: PgTestServer | null = null;
let dir = '';
let n = 0;

beforeAll(async () => {
  if (postgresMissing !== null) return;
  dir = mkdtempSync(join(tmpdir(), 'hangar-pg-read-contract-'));
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openBridged(): Promise<Stores> {
  if (!server) throw new Error(postgresMissing ?? 'PostgreSQL did not start');
  const pool = new pg.Pool({ connectionString: await server.createDatabase(), max: 3 });
  pool.on('error', () => {});
  await migratePostgres(
    { query: async (text, params) => (await pool.query(text, params as unknown[])).rows as never },
    await loadMigrations(),
  );
  const path = join(dir, `contract-${n++}.db`);
  const writes = createSqliteStores({ path });
  const sink = createPostgresRollupSink(pool, (err) => {
    throw err;
  });
  const sync = async () => {
    await writes.flush();
    const src = openReadOnly(path);
    try {
      // meter_rollups follows meter through its trigger; request_rollups is the sink's own.
      await pool.query(`TRUNCATE ${[...COPIED, 'meter_rollups'].join(', ')} CASCADE`);
      for (const table of COPIED) await copyTable(src, pool, table);
    } finally {
      src.close();
    }
    await sink.flush();
  };
  return {
    ...writes,
    reads: createPostgresReads(pool),
    rollups: sink,
    flush: sync,
    async close() {
      await writes.close();
      await pool.end();
    },
  } as Stores;
}

describe.skipIf(postgresMissing !== null)('PostgreSQL reads', () => {
  describeReadContract('postgres (seeded through the SQLite write ports)', openBridged);
});
