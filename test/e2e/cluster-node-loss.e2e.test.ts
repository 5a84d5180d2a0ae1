// A two-node cluster (real `hangar serve` processes over PostgreSQL and Redis) loses the node that accepted
// the work, with kill -9: its queued and running requests are completed by the other node, their webhooks
// still arrive (the outbox is in PostgreSQL), and its sync call is closed by the leader as the connection
// error its caller saw. Before that, the other node restarts and leaves that running sync call alone.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packBundle } from '@hangar/core/bundle';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterMissing, startCluster, type TestCluster } from './cluster.js';

const ECHO_DIR = fileURLToPath(new URL('../../examples/echo-node', import.meta.url));
const SLOW = 240_000;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(clusterMissing !== null)('a cluster losing the node that accepted the work', () => {
  let cluster: TestCluster;
  let db: pg.Client;
  let receiver: Server;
  let hookUrl = '';
  const hooks = new Map<string, { status: string }[]>();

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['x-fal-webhook-request-id']);
        hooks.set(id, [...(hooks.get(id) ?? []), JSON.parse(Buffer.concat(chunks).toString())]);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const addr = receiver.address();
    hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
    cluster = await startCluster({
      nodes: 2,
      config: { webhooks: { allow_private: true, retry_base_s: 0.5 } },
    });
    db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
  }, SLOW);
  afterAll(async () => {
    await db?.end();
    await cluster?.close();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  const call = async (i: number, method: string, path: string, body?: unknown) => {
    const res = await fetch(cluster.nodes[i]!.url + path, {
      method,
      headers: { authorization: `Key ${cluster.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it(
    'completes its queued and running requests on the other node, delivers their webhooks, closes its sync call',
    async () => {
      const manifest = JSON.parse(readFileSync(join(ECHO_DIR, 'hangar.json'), 'utf8'));
      const packed = await packBundle(ECHO_DIR);
      const uploaded = await fetch(`${cluster.nodes[0]!.url}/v1/serverless/bundles`, {
        method: 'POST',
        headers: { authorization: `Key ${cluster.adminKey}`, 'content-type': 'application/gzip' },
        body: await readFile(packed.file),
      });
      await packed.remove();
      const { bundle } = (await uploaded.json()) as { bundle: string };
      const scale = { min_concurrency: 1, max_concurrency: 1, max_multiplexing: 1 };
      expect((await call(0, 'POST', '/v1/serverless/apps', { ...manifest, ...scale, bundle })).status).toBe(
        201,
      );
      // Both nodes run the app before the work is sent.
      for (const i of [0, 1])
        await waitFor(
          'the app answering on every node',
          async () => {
            const r = await call(i, 'POST', '/run/demo/echo', { warm: i });
            return r.status === 200 ? true : undefined;
          },
          60_000,
        );

      // A sync call held on node A, then queued requests accepted by node A.
      const sync = fetch(`${cluster.nodes[0]!.url}/run/demo/echo`, {
        method: 'POST',
        headers: { authorization: `Key ${cluster.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sleep_ms: 30_000 }),
      }).catch(() => null);
      // Node B restarts meanwhile: its start-up recovery leaves node A's running sync call alone.
      const openSyncOfA = async () => {
        const { rows } = await db.query(
          "SELECT count(*)::int AS n FROM requests WHERE mode = 'sync' AND node_id = $1 AND status <> 'COMPLETED'",
          [cluster.nodeId(0)],
        );
        return rows[0]?.n as number;
      };
      await waitFor(
        'the sync call recorded',
        async () => ((await openSyncOfA()) === 1 ? true : undefined),
        30_000,
      );
      const liveRunnersOfA = async () => {
        const { rows } = await db.query(
          'SELECT count(*)::int AS n FROM runners WHERE node_id = $1 AND ended_at IS NULL',
          [cluster.nodeId(0)],
        );
        return rows[0]?.n as number;
      };
      const runnersOfA = await liveRunnersOfA();
      expect(runnersOfA).toBeGreaterThan(0);
      await cluster.stopNode(1);
      await cluster.startNode(1);
      // ... and node A's runners, which the registry shows alive.
      expect(await openSyncOfA()).toBe(1);
      expect(await liveRunnersOfA()).toBe(runnersOfA);
      const ids: string[] = [];
      for (let n = 0; n < 4; n++) {
        const r = await call(0, 'POST', `/queue/demo/echo?fal_webhook=${encodeURIComponent(hookUrl)}`, {
          n,
          sleep_ms: 1_500,
        });
        expect(r.status).toBe(200);
        ids.push(String(r.body.request_id));
      }
      await waitFor(
        'a queued request running',
        async () => {
          for (const id of ids) {
            const st = await call(1, 'GET', `/queue/demo/echo/requests/${id}/status`);
            if (st.body.status === 'IN_PROGRESS') return true;
          }
          return undefined;
        },
        30_000,
      );
      await cluster.killNode(0);
      await sync;

      for (const [n, id] of ids.entries()) {
        await waitFor(
          `request ${n} completed on node B`,
          async () => {
            const st = await call(1, 'GET', `/queue/demo/echo/requests/${id}/status`);
            return st.body.status === 'COMPLETED' ? true : undefined;
          },
          60_000,
        );
        const result = await call(1, 'GET', `/queue/demo/echo/requests/${id}`);
        expect(result.status).toBe(200);
        expect(JSON.stringify(result.body)).toContain(`"n":${n}`);
      }

      const closed = await waitFor(
        'the sync call closed by the leader',
        async () => {
          const { rows } = await db.query(
            "SELECT status, status_code, error_class, node_id FROM requests WHERE mode = 'sync' AND node_id = $1 AND json_input LIKE '%30000%'",
            [cluster.nodeId(0)],
          );
          return rows[0]?.status === 'COMPLETED' ? rows[0] : undefined;
        },
        30_000,
      );
      expect(closed).toMatchObject({ status_code: 502, error_class: 'connection' });
      const { rows } = await db.query(
        'SELECT request_id, node_id, status FROM requests WHERE request_id = ANY($1)',
        [ids],
      );
      expect(rows.map((r) => [r.node_id, r.status])).toEqual(ids.map(() => [cluster.nodeId(0), 'COMPLETED']));

      // Webhooks of the dead node's requests: armed and sent by node B, which ran them (at least once each),
      // well before the outbox's repair pass (a minute) would have armed them.
      await waitFor(
        'every webhook delivered',
        async () => (ids.every((id) => hooks.has(id)) ? true : undefined),
        30_000,
      );
      for (const id of ids) expect(hooks.get(id)![0]!.status).toBe('OK');
    },
    SLOW,
  );
});
