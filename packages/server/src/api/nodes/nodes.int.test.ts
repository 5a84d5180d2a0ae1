import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import type { NodesView } from '../../cluster/node-view.js';
import { CONFIG_FILE, loadConfig } from '../../config.js';
import { type RunningServer, startServer } from '../../main.js';
import { waitFor } from '../../test-services/ports.test-helper.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

async function serve(env: Record<string, string>, cluster?: object): Promise<RunningServer> {
  const home = mkdtempSync(join(tmpdir(), 'hangar-nodes-'));
  homes.push(home);
  if (cluster) writeFileSync(join(home, CONFIG_FILE), JSON.stringify({ cluster }));
  const adminKey = `admin_${homes.length}:s3cret-${homes.length}-xxxxxxxxxxxxxxxx`;
  const vars = { HANGAR_LOG_LEVEL: 'silent', HANGAR_ADMIN_KEY: adminKey, ...env };
  return startServer(loadConfig({ port: '0', home }, vars, home));
}

/** What the tests read of an answer: a node view, a health answer or fal's error envelope. */
type Body = NodesView & {
  status?: string;
  node_id?: string;
  error: { type: string; code: string; message: string };
};

async function get(server: RunningServer, path: string, key?: string) {
  const res = await fetch(`${server.url}${path}`, key ? { headers: { authorization: `Key ${key}` } } : {});
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Body };
}

const adminOf = (n: number) => `admin_${n}:s3cret-${n}-xxxxxxxxxxxxxxxx`;

describe('nodes of an embedded server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ HANGAR_NODE_ID: 'solo' });
  });
  afterAll(() => server?.shutdown());

  it('answers /healthz and /readyz, and lists its one node as the leader', async () => {
    expect(await get(server, '/healthz')).toMatchObject({
      status: 200,
      body: { status: 'ok', node_id: 'solo' },
    });
    expect(await get(server, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
    let view: Body | undefined;
    await waitFor(
      async () => {
        view = (await get(server, '/v1/nodes', adminOf(1))).body;
        return view.nodes?.length === 1;
      },
      { timeoutMs: 5_000, what: 'the first heartbeat' },
    );
    assert.exists(view, 'the node view');
    expect(view).toMatchObject({ mode: 'embedded', leader: { node_id: 'solo', token: 1 } });
    expect(view.nodes[0]).toMatchObject({
      node_id: 'solo',
      status: 'alive',
      is_leader: true,
      url: server.url,
      runner_count: 0,
      dead_at: null,
    });
    expect(view.nodes[0]?.capacity.machine_types).toContain('CPU');
  });

  it('is the operator’s view: an API key is refused', async () => {
    const created = await fetch(`${server.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Key ${adminOf(1)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'API' }),
    });
    const { key } = (await created.json()) as { key: string };
    expect((await get(server, '/v1/nodes', key)).status).toBe(403);
    expect((await get(server, '/v1/nodes')).status).toBe(401);
  });
});

describe.skipIf(redisMissing !== null || postgresMissing !== null)('nodes of a cluster over Redis', () => {
  let redis: RedisTestServer;
  let pg: PgTestServer;
  /** One database per cluster: its nodes share it. */
  let databaseUrl: string;
  // Servers in one process share its event loop: a start may stall heartbeats, so no short dead threshold.
  const timing = { lease_ms: 2_000, renew_ms: 200 };
  beforeAll(async () => {
    [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
  });
  afterAll(async () => {
    await redis?.close();
    await pg?.close();
  });

  it('shows every node and one leader from any node; a drained leader deregisters and another leads', async () => {
    databaseUrl = await pg.createDatabase();
    const env = (id: string) => ({
      HANGAR_NODE_ID: id,
      HANGAR_REDIS_URL: redis.url,
      HANGAR_DATABASE_URL: databaseUrl,
    });
    const a = await serve(env('node-a'), timing);
    const b = await serve(env('node-b'), timing);
    const [ka, kb] = [adminOf(homes.length - 1), adminOf(homes.length)];
    try {
      await waitFor(
        async () => {
          const [va, vb] = [(await get(a, '/v1/nodes', ka)).body, (await get(b, '/v1/nodes', kb)).body];
          return va.nodes?.length === 2 && va.leader !== null && va.leader?.node_id === vb.leader?.node_id;
        },
        { timeoutMs: 10_000, what: 'both nodes registered and one leader' },
      );
      const view = (await get(b, '/v1/nodes', kb)).body;
      expect(view.mode).toBe('cluster');
      expect(view.nodes.map((n) => [n.node_id, n.status, n.url])).toEqual([
        ['node-a', 'alive', a.url],
        ['node-b', 'alive', b.url],
      ]);
      assert.exists(view.leader, 'the leader');
      expect(view.nodes.filter((n) => n.is_leader).map((n) => n.node_id)).toEqual([view.leader.node_id]);
      const [leader, other, key] = view.leader.node_id === 'node-a' ? [a, b, kb] : [b, a, ka];
      const oldToken = view.leader.token;
      await leader.shutdown();
      await waitFor(
        async () => {
          const v = (await get(other, '/v1/nodes', key)).body;
          return v.nodes.length === 1 && v.leader !== null && v.leader.token > oldToken;
        },
        { timeoutMs: 10_000, what: 'the drained leader gone and the other node leading' },
      );
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  }, 40_000);

  it('is not ready while Redis is down, naming the check, with Retry-After', async () => {
    databaseUrl = await pg.createDatabase();
    const node = await serve(
      { HANGAR_NODE_ID: 'node-r', HANGAR_REDIS_URL: redis.url, HANGAR_DATABASE_URL: databaseUrl },
      timing,
    );
    try {
      expect((await get(node, '/readyz')).status).toBe(200);
      redis.freeze();
      const down = await get(node, '/readyz');
      redis.thaw();
      expect(down.status).toBe(503);
      expect(down.retryAfter).toBe('1');
      expect(down.body.error).toMatchObject({ type: 'server_error', code: 'NODE_NOT_READY' });
      expect(down.body.error.message).toContain('redis');
      expect(down.body.error.message).not.toContain(redis.url);
      await waitFor(async () => (await get(node, '/readyz')).status === 200, {
        timeoutMs: 10_000,
        what: 'ready again',
      });
    } finally {
      await node.shutdown();
    }
  }, 40_000);
});
