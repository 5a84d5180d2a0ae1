// Two real servers (their own homes, one PostgreSQL database) over one redis-server: the rate-limit budget of a key
// is one budget whichever node the calls reach, and each server reports where its shared state lives.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE, loadConfig } from '../../config.js';
import { type RunningServer, startServer } from '../../main.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';

describe.skipIf(redisMissing !== null || postgresMissing !== null)('servers sharing Redis', () => {
  let redis: RedisTestServer;
  let pg: PgTestServer;
  let databaseUrl: string;
  const homes: string[] = [];
  const servers: RunningServer[] = [];
  const adminKey = `admin-${process.pid}:${'ab'.repeat(32)}`;

  const start = async (node: string) => {
    const home = mkdtempSync(join(tmpdir(), 'hangar-shared-'));
    homes.push(home);
    const limits = { rate_limit: { requests_per_second: 0.01, burst: 4 } };
    writeFileSync(join(home, CONFIG_FILE), JSON.stringify({ limits }));
    const env = { HANGAR_LOG_LEVEL: 'silent', HANGAR_NODE_ID: node, HANGAR_ADMIN_KEY: adminKey };
    const server = await startServer(
      loadConfig({ port: '0', home, redisUrl: redis.url, databaseUrl }, env, home),
    );
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    databaseUrl = await pg.createDatabase();
  });
  afterAll(async () => {
    for (const s of servers) await s.shutdown();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
    await redis?.close();
    await pg?.close();
  });

  it('spends one key budget across nodes and answers 429 with Retry-After on either', async () => {
    const a = await start('node-a');
    const b = await start('node-b');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (const server of [a, b, a, b, a, b]) {
      const res = await fetch(`${server.url}/v1/keys`, { headers: { authorization: `Key ${adminKey}` } });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 4).every((s) => s !== 429)).toBe(true);
    expect(statuses.slice(4)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
