// A real network partition: node A runs in its own network namespace, linked to PostgreSQL, Redis and node B
// by a veth pair, and the link is cut while A leads and runs requests. B must take the lease, run A's
// claimed requests once, declare A dead and close its runners' metering at A's last heartbeat; when the
// link heals, A must refuse to carry on (exit 70) and its late completions must change nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../../packages/server/src/cluster/redis.js';
import { clusterMissing, startCluster, type TestCluster } from './cluster.js';
import { call, deployEcho, echoRunners, type RequestRow } from './cluster-calls.js';
import { createNetNamespace, type NetNamespace, netnsMissing } from './netns.js';

const skip = clusterMissing ?? netnsMissing;
if (skip) console.log(`cluster partition e2e skipped: ${skip}`);
/** How long each request runs: A's runners finish theirs while the link is down, B's reruns after. */
const SLEEP_MS = 15_000;
/** How long the test waits for PostgreSQL to see A's sessions end after A exited (their FIN retransmits). */
const SESSIONS_GONE_MS = 30_000;

describe.skipIf(skip !== null)('cluster: node A cut off by a network partition', () => {
  let ns: NetNamespace;
  let cluster: TestCluster;
  let db: pg.Client;
  let redis: ReturnType<typeof openRedis>;
  const ids: string[] = [];
  let onA: string[] = [];
  let runnersOfA: string[] = [];
  let cutAt = 0;

  const rows = async (): Promise<RequestRow[]> =>
    (
      await db.query(
        `SELECT q.request_id, q.status, q.status_code, q.attempts, q.runner_id, r.node_id
           FROM requests q LEFT JOIN runners r ON r.runner_id = q.runner_id
          WHERE q.request_id = ANY($1) ORDER BY q.request_id`,
        [ids],
      )
    ).rows as RequestRow[];
  const liveRunners = async () =>
    (await db.query('SELECT runner_id, node_id, state FROM runners WHERE ended_at IS NULL')).rows as {
      runner_id: string;
      node_id: string;
      state: string;
    }[];
  /** A's runners' registry rows, each with its meter minutes. */
  const runnersAndMeter = async () =>
    (
      await db.query(
        `SELECT r.*, COALESCE((SELECT json_agg(json_build_object('minute', m.minute, 'seconds', m.seconds)
                  ORDER BY m.minute) FROM meter m WHERE m.runner_id = r.runner_id), '[]') AS meter
           FROM runners r WHERE r.runner_id = ANY($1) ORDER BY r.runner_id`,
        [runnersOfA],
      )
    ).rows as { state: string; started_at: string; ended_at: string; meter: { seconds: number }[] }[];
  const leader = async () => ((await redis.get('hangar:node:leader')) ?? '').split('|')[0];
  /** The nodes' own output, for a failure's message. */
  const outputs = () =>
    (cluster?.nodes ?? []).map((n, i) => `--- ${cluster.nodeId(i)}:\n${n.output().slice(-3000)}`).join('\n');
  /** Polls `fn` every 100 ms; on timeout the error carries the database's view and the nodes' output. */
  async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      if (Date.now() > until) {
        const state = db ? `${JSON.stringify(await rows())}\n${JSON.stringify(await liveRunners())}` : '';
        throw new Error(`timed out after ${ms} ms waiting for ${what}\n${state}\n${outputs()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // A runner row exists from `pending` on; only a ready one (`idle`, `running`) takes requests.
  const readyOn = async (node: string) =>
    (await liveRunners()).some((r) => r.node_id === node && (r.state === 'idle' || r.state === 'running'))
      ? true
      : undefined;

  beforeAll(async () => {
    ns = createNetNamespace();
    cluster = await startCluster({ nodes: 2, started: 1, networks: { 0: ns } });
    db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    redis = openRedis(cluster.redis.url, { name: 'test:partition' });
    const a = cluster.nodes[0]!;
    expect(a.url).toBe(`http://${ns.address}:8080`);
    await waitFor('node A to lead', async () => ((await leader()) === 'node-a' ? true : undefined), 15_000);
    // A alone when the app is deployed: both runners are A's (B would otherwise get the placement).
    await deployEcho(a.url, cluster.adminKey, {
      min_concurrency: 2,
      max_concurrency: 2,
      max_multiplexing: 4,
    });
    await waitFor('a ready runner on node A', () => readyOn('node-a'), 60_000);
    for (let i = 0; i < 4; i++) {
      const body = { n: i, sleep_ms: SLEEP_MS, record: true };
      const res = await call(a.url, cluster.adminKey, 'POST', '/queue/demo/echo', body);
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
    );
    onA = running
      .filter((r) => r.status === 'IN_PROGRESS' && r.node_id === 'node-a')
      .map((r) => r.request_id);
    runnersOfA = (await liveRunners()).filter((r) => r.node_id === 'node-a').map((r) => r.runner_id);
    // B starts after the deploy, so it restores the app from the database and keeps a runner of its own.
    await cluster.startNode(1);
    await waitFor('a ready runner on node B', () => readyOn('node-b'), 60_000);
    cutAt = Date.now();
    ns.cut();
  }, 180_000);

  afterAll(async () => {
    await redis?.quit().catch(() => {});
    await db?.end().catch(() => {});
    try {
      await cluster?.close();
    } finally {
      // Also kills whatever still runs in the namespace, should the cluster fail to close.
      ns?.close();
    }
  }, 60_000);

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
        return now.length === ids.length && now.every((r) => r.status === 'COMPLETED') ? now : undefined;
      },
      15_000 - (Date.now() - cutAt) + SLEEP_MS,
    );
    expect(done.map((r) => r.status_code)).toEqual(ids.map(() => 200));
    for (const r of done.filter((x) => onA.includes(x.request_id))) {
      expect(r).toMatchObject({ status_code: 200, node_id: 'node-b', attempts: 2 });
    }
  });

  it('(c) A is declared dead, its metering ends at its last heartbeat, and when the link heals A exits 70 and its late work changes no outcome', async () => {
    await waitFor(
      'A declared dead',
      async () => ((await redis.hget('hangar:node:dead', 'node-a')) ? true : undefined),
      15_000,
    );
    const record = JSON.parse((await redis.hget('hangar:node:nodes', 'node-a')) ?? '{}');
    const lastHeartbeat = Number(record.lastHeartbeat);
    expect(lastHeartbeat).toBeLessThanOrEqual(cutAt + 1000);
    // Closed (the leader writes through its batching writer), at A's last heartbeat, metered up to it.
    const closedAtLastHeartbeat = async () => {
      const now = await runnersAndMeter();
      const closed = (r: (typeof now)[number]) => {
        const lifetime = (lastHeartbeat - Number(r.started_at)) / 1000;
        const metered = r.meter.reduce((sum, m) => sum + m.seconds, 0);
        return (
          r.state === 'terminated' &&
          Number(r.ended_at) === lastHeartbeat &&
          Math.abs(metered - lifetime) <= 1
        );
      };
      return now.length === runnersOfA.length && now.every(closed) ? now : undefined;
    };
    await waitFor("A's runners closed at its last heartbeat", closedAtLastHeartbeat, 5_000);
    // A's runners ran A's requests to their end while the link was down: A holds completions to record.
    const runs = echoRunners(cluster);
    for (const id of onA) expect(runs.get(id)?.filter((r) => runnersOfA.includes(r))).toHaveLength(1);
    const before = await rows();
    ns.heal();
    const exit = await Promise.race([
      cluster.nodes[0]!.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 90_000)),
    ]);
    expect(exit, outputs()).toEqual({ code: 70, signal: null });
    // Whatever A had sent before it exited is in PostgreSQL once its sessions are gone (their last bytes
    // and FIN are retransmitted over the healed link); a session still open past that is ended.
    const sessionsOfA = async () =>
      (await db.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'hangar:node-a'`)).rows.map(
        (r) => r.pid as number,
      );
    const until = Date.now() + SESSIONS_GONE_MS;
    while ((await sessionsOfA()).length > 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 200));
    for (const pid of await sessionsOfA()) await db.query('SELECT pg_terminate_backend($1)', [pid]);
    // Nothing A did after its last heartbeat changed an outcome: the requests are as B recorded them
    // (a completed request stays completed), and A's runners end at its last heartbeat, metered up to it
    // (should a late write of A reopen one, the leader closes it again on its next round, within 1 s).
    expect(await rows()).toEqual(before);
    await waitFor("A's runners still closed at its last heartbeat", closedAtLastHeartbeat, 5_000);
  });
});
