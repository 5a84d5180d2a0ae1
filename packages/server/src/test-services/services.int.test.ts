import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgTestServer, postgresMissing, startPostgres } from './postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from './redis.test-helper.js';

describe.skipIf(postgresMissing !== null)('the PostgreSQL test server', () => {
  let server: PgTestServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server?.close());

  it('is PostgreSQL 15 or newer, keeps committed rows across a kill -9 and a restart', async () => {
    const url = await server.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const v = await c.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version_num']);
    expect(Number(v.rows[0]!.v)).toBeGreaterThanOrEqual(150000);
    await c.query('CREATE TABLE t (x int)');
    await c.query('INSERT INTO t VALUES (42)');
    await c.end().catch(() => {});
    await server.kill();
    await server.start();
    const c2 = new pg.Client({ connectionString: url });
    await c2.connect();
    expect((await c2.query('SELECT x FROM t')).rows).toEqual([{ x: 42 }]);
    await c2.end();
  });
});

describe.skipIf(redisMissing !== null)('the Redis test server', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(() => server?.close());

  it('keeps acknowledged writes across a kill -9 (append-only file, fsync always)', async () => {
    const r = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await r.connect();
    await r.set('k', 'v');
    r.disconnect();
    await server.kill();
    await server.start();
    const r2 = new Redis(server.url, { lazyConnect: true });
    await r2.connect();
    expect(await r2.get('k')).toBe('v');
    r2.disconnect();
  });
});
