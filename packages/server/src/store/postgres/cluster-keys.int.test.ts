import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { clusterKey } from './cluster-keys.js';
import { loadMigrations, migratePostgres } from './migrate.js';
import type { PgSession } from './session.js';

describe.skipIf(postgresMissing !== null)('cluster keys on PostgreSQL', () => {
  let server: PgTestServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server?.close());

  it('gives every node the key the first one stored, even when they race', async () => {
    const url = await server.createDatabase();
    const pools = [
      new pg.Pool({ connectionString: url, max: 2 }),
      new pg.Pool({ connectionString: url, max: 2 }),
    ];
    // An idle connection cut when the test server stops must not fail the run.
    for (const p of pools) p.on('error', () => {});
    const sessions: PgSession[] = pools.map((p) => ({
      query: async (text, params) => (await p.query(text, params as unknown[])).rows,
    }));
    await migratePostgres(sessions[0]!, await loadMigrations());
    const made: Buffer[] = [];
    const gen = () => {
      const b = randomBytes(32);
      made.push(b);
      return b;
    };
    const got = await Promise.all([
      clusterKey(sessions[0]!, 'upload-key', gen),
      clusterKey(sessions[1]!, 'upload-key', gen),
      clusterKey(sessions[0]!, 'upload-key', gen),
    ]);
    expect(made.length).toBe(3);
    expect(got[1]!.equals(got[0]!)).toBe(true);
    expect(got[2]!.equals(got[0]!)).toBe(true);
    expect(made.some((b) => b.equals(got[0]!))).toBe(true);
    const other = await clusterKey(sessions[1]!, 'realtime-key', gen);
    expect(other.equals(got[0]!)).toBe(false);
    for (const p of pools) await p.end();
  });
});
