// `hangar keys revoke` against a cluster: the operator's revocation reaches every node through Redis.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOperator } from '../../operator.js';
import { waitFor } from '../../test-services/ports.test-helper.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { createRedisRevocations } from './redis-revocations.js';

const missing = postgresMissing ?? redisMissing;

describe.skipIf(missing !== null)('operator revocation on a cluster', () => {
  let pg: PgTestServer;
  let redis: RedisTestServer;
  let home: string;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    home = mkdtempSync(join(tmpdir(), 'hangar-operator-'));
  });
  afterAll(async () => {
    await Promise.all([pg?.close(), redis?.close()]);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('announces a key revoked from the command line to every node within a second', async () => {
    const databaseUrl = await pg.createDatabase();
    const flags = { databaseUrl, redisUrl: redis.url };
    const key = await openOperator(home, (op) => op.createKey('acme', 'API', 'ci'), flags);
    const conn = openRedis(redis.url, { name: 'test' });
    const sub = openRedis(redis.url, { name: 'test-sub', blocking: true });
    const node = createRedisRevocations({ redis: conn, subscriber: sub });
    const heard: (string | null)[] = [];
    node.subscribe((id) => heard.push(id));
    try {
      await waitFor(() => node.reliable(), { timeoutMs: 5000, what: 'the node to subscribe' });
      await openOperator(home, (op) => op.revokeKey(key.key_id), flags);
      await waitFor(() => heard.includes(key.key_id), { timeoutMs: 1000, what: 'the announcement' });
      const listed = await openOperator(home, (op) => op.listKeys('acme'), flags);
      expect(listed.find((k) => k.key_id === key.key_id)?.revoked_at).toEqual(expect.any(String));
    } finally {
      await node.close();
      conn.disconnect();
      sub.disconnect();
    }
  });
});
