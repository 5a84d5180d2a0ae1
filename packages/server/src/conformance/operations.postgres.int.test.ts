import pgClient from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../cluster/redis.js';
import { type PgTestServer, postgresMissing, startPostgres } from '../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../test-services/redis.test-helper.js';
import { describeOperationsFuzz } from './operations-fuzz.test-helper.js';
import { describeOperationsWalk } from './operations-walk.test-helper.js';
import { type ConformanceServer, startConformanceServer } from './server.test-helper.js';

// The fal conformance walk and the fuzzer, unchanged, against the server in cluster mode: every store and
// read on a real PostgreSQL 15, the queue and shared state on a real Redis 7. Each run gets a fresh
// database and an empty Redis. HANGAR_FUZZ_CASES sets the fuzzer's total here as on SQLite.
const missing = postgresMissing ?? redisMissing;

describe.skipIf(missing !== null)('the server on PostgreSQL + Redis', () => {
  let pg: PgTestServer;
  let redis: RedisTestServer;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([pg?.close(), redis?.close()]);
  });

  const databases: string[] = [];
  const start = async (): Promise<ConformanceServer> => {
    const client = openRedis(redis.url, { name: 'conformance-reset' });
    await client.flushall();
    client.disconnect();
    databases.push(await pg.createDatabase());
    return startConformanceServer({ databaseUrl: databases.at(-1)!, redisUrl: redis.url });
  };

  describe('the walk', () => describeOperationsWalk(start));

  it('the walk ran on PostgreSQL: its requests, both tenants and its keys are rows there', async () => {
    const db = new pgClient.Client({ connectionString: databases[0] });
    await db.connect();
    try {
      const owners = await db.query(
        `SELECT owner, count(*)::int AS n FROM requests GROUP BY owner ORDER BY owner COLLATE "C"`,
      );
      expect(owners.rows.map((r) => r.owner)).toEqual(['bob', 'demo']);
      expect(owners.rows[1].n).toBeGreaterThanOrEqual(7);
      const keys = await db.query('SELECT DISTINCT owner FROM api_keys ORDER BY owner');
      expect(keys.rows.map((r) => r.owner)).toEqual(['bob', 'demo']);
    } finally {
      await db.end();
    }
  });
  describe('the fuzzer', () => describeOperationsFuzz(start));
});
