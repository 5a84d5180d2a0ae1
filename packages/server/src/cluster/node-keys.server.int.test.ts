// Two real servers of one cluster (one PostgreSQL database, one redis-server, their own homes): what one
// node signs, the other verifies, and secrets are not sealed with a key only one node has.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { type RunningServer, startServer } from '../main.js';
import { type PgTestServer, postgresMissing, startPostgres } from '../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../test-services/redis.test-helper.js';

describe.skipIf(redisMissing !== null || postgresMissing !== null)('signing keys shared by a cluster', () => {
  let redis: RedisTestServer;
  let pg: PgTestServer;
  const homes: string[] = [];
  const servers: RunningServer[] = [];
  const adminKey = `admin-${process.pid}:${'cd'.repeat(32)}`;
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
    const databaseUrl = await pg.createDatabase();
    for (const node of ['node-a', 'node-b']) {
      const home = mkdtempSync(join(tmpdir(), 'hangar-keys-'));
      homes.push(home);
      const env = { HANGAR_LOG_LEVEL: 'silent', HANGAR_NODE_ID: node, HANGAR_ADMIN_KEY: adminKey };
      const config = loadConfig({ port: '0', home, redisUrl: redis.url, databaseUrl }, env, home);
      servers.push(await startServer(config));
    }
    [a, b] = servers as [RunningServer, RunningServer];
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.shutdown();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
    await redis?.close();
    await pg?.close();
  });

  const auth = { authorization: `Key ${adminKey}`, 'content-type': 'application/json' };

  it('accepts on node B an upload URL that node A signed, and refuses it altered', async () => {
    const res = await fetch(`${a.url}/storage/upload/initiate?storage_type=fal-cdn-v3`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ file_name: 'x.txt', content_type: 'text/plain' }),
    });
    expect(res.status).toBe(200);
    const { upload_url } = (await res.json()) as { upload_url: string };
    const signed = new URL(upload_url);
    const onB = `${b.url}${signed.pathname}${signed.search}`;
    const token = signed.searchParams.get('token') ?? '';
    const altered = `${b.url}${signed.pathname}?token=${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const put = (url: string) =>
      fetch(url, { method: 'PUT', body: 'hello', headers: { 'content-type': 'text/plain' } });
    const refused = await put(altered);
    await refused.arrayBuffer();
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const accepted = await put(onB);
    await accepted.arrayBuffer();
    expect(accepted.status).toBe(200);
  });

  it('publishes one webhook key set from every node', async () => {
    const jwks = async (s: RunningServer) =>
      (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: object[] };
    const [ja, jb] = await Promise.all([jwks(a), jwks(b)]);
    expect(ja.keys.length).toBeGreaterThan(0);
    expect(jb).toEqual(ja);
  });

  it('refuses to seal a secret without HANGAR_SECRETS_KEY, and makes no key file of its own', async () => {
    const res = await fetch(`${a.url}/v1/secrets/API_TOKEN`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ value: 'v' }),
    });
    const body = (await res.json()) as { error: { code?: string; type: string } };
    expect(res.status).toBe(503);
    expect(JSON.stringify(body)).toContain('HANGAR_SECRETS_KEY');
    expect(homes.some((h) => existsSync(join(h, 'secrets.key')))).toBe(false);
  });

  it('is ready with every migration applied', async () => {
    const res = await fetch(`${b.url}/readyz`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  });
});
