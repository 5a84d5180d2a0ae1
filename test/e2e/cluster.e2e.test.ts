import { createFalClient } from '@fal-ai/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterMissing, startCluster, type TestCluster } from './cluster.js';
import {
  call,
  deployEcho,
  echoRuns,
  OWNER,
  type RequestRow,
  requestRows,
  waitFor,
  withDb,
} from './cluster-calls.js';

if (clusterMissing) console.log(`cluster e2e skipped: ${clusterMissing}`);

const APP = `${OWNER}/echo`;
/** How long each request of the kill test runs. */
const RUN_MS = 2400;
let cluster: TestCluster;
const url = (i: number) => cluster.nodes[i]!.url;

/** The real @fal-ai/client, pointed at node `i`. */
function falClient(i: number) {
  const base = url(i);
  return createFalClient({
    credentials: cluster.adminKey,
    requestMiddleware: async (req) => ({
      ...req,
      url: req.url
        .replace(/^https:\/\/queue\.fal\.run\//, `${base}/queue/`)
        .replace(/^https:\/\/fal\.run\//, `${base}/run/`),
    }),
  });
}

/** Live runners per node, from the runner registry. */
async function liveRunners(): Promise<Map<string, string[]>> {
  const rows = await withDb(cluster, (db) =>
    db.query(`SELECT runner_id, node_id FROM runners WHERE ended_at IS NULL AND state <> 'stopped'`),
  );
  const byNode = new Map<string, string[]>();
  for (const r of rows.rows) byNode.set(r.node_id, [...(byNode.get(r.node_id) ?? []), r.runner_id]);
  return byNode;
}

describe.skipIf(clusterMissing !== null)('a 3-node cluster (real processes, PostgreSQL, Redis)', () => {
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
    await deployEcho(url(0), cluster.adminKey, {
      min_concurrency: 1,
      max_concurrency: 2,
      max_multiplexing: 2,
    });
    // Demand makes the leader place runners on every node (one slot per waiting or running request).
    for (let n = 0; n < 12; n++) {
      const res = await call(url(n % 3), cluster.adminKey, 'POST', `/queue/${APP}`, {
        warm: n,
        sleep_ms: 3000,
      });
      expect(res.status).toBe(200);
    }
    await waitFor('a runner on every node', async () => {
      const byNode = await liveRunners();
      return [0, 1, 2].every((i) => byNode.has(cluster.nodeId(i))) ? true : undefined;
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  it('answers @fal-ai/client queue and sync calls through every node', async () => {
    for (const i of [0, 1, 2]) {
      const fal = falClient(i);
      const sync = await fal.run(APP, { input: { via: i, mode: 'sync' } });
      expect(sync.data).toMatchObject({ echo: { via: i, mode: 'sync' } });
      const queued = await fal.subscribe(APP, { input: { via: i, mode: 'queue' }, pollInterval: 100 });
      expect(queued.data).toMatchObject({ echo: { via: i, mode: 'queue' } });
      expect(queued.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  }, 120_000);

  it('reports the status and result of a request on nodes that did not accept it', async () => {
    const submitted = await falClient(0).queue.submit(APP, { input: { sleep_ms: 1500 } });
    const id = submitted.request_id;
    const seen = new Set<string>();
    await waitFor('COMPLETED on node B', async () => {
      const st = await falClient(1).queue.status(APP, { requestId: id });
      seen.add(st.status);
      return st.status === 'COMPLETED' ? true : undefined;
    });
    expect(seen.has('IN_PROGRESS') || seen.has('IN_QUEUE')).toBe(true);
    expect((await falClient(2).queue.status(APP, { requestId: id })).status).toBe('COMPLETED');
    const result = await falClient(2).queue.result(APP, { requestId: id });
    expect(result.data).toMatchObject({ echo: { sleep_ms: 1500 } });
  }, 60_000);

  it('streams on node A the log lines of a runner on node C', async () => {
    const onC = new Set((await liveRunners()).get(cluster.nodeId(2)) ?? []);
    expect(onC.size).toBeGreaterThan(0);
    const abort = new AbortController();
    const stream = await fetch(`${url(0)}/v1/serverless/logs/stream?app_id=echo`, {
      method: 'POST',
      headers: { authorization: `Key ${cluster.adminKey}` },
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    await reader.read(); // `: connected`
    // A sync call on node C runs on node C's own runner.
    const run = await call(url(2), cluster.adminKey, 'POST', `/run/${APP}`, { logs: 3 });
    expect(run.status).toBe(200);
    expect(onC.has(run.body.runner)).toBe(true);
    const requestId = run.headers.get('x-fal-request-id');
    const mine = () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)))
        .filter((e) => e.labels?.fal_request_id === requestId);
    const deadline = setTimeout(() => abort.abort(), 20_000);
    try {
      while (mine().length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } finally {
      clearTimeout(deadline);
      abort.abort();
    }
    expect(mine().map((e) => e.message)).toEqual(['log line 1', 'log line 2', 'log line 3']);
  }, 60_000);

  it('loses nothing accepted and runs or records nothing twice when a node is killed under queued load', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 60; n++) {
      const res = await call(url(n % 3), cluster.adminKey, 'POST', `/queue/${APP}`, {
        n,
        sleep_ms: RUN_MS,
        record: true,
      });
      expect(res.status).toBe(200);
      ids.push(res.body.request_id);
    }
    // Kill node B while it runs some of them, each in the middle of its run. (A request whose app had
    // already answered when its node died, its outcome not yet recorded, runs again: at least once, as
    // on fal. That window is the recording's latency; the kill is timed outside it, so that what this
    // shows is that an interrupted request is neither lost nor run or recorded twice.)
    await waitFor('node B in the middle of its requests', async () => {
      const rows = await requestRows(cluster, ids);
      const onB = rows.filter((r) => r.status === 'IN_PROGRESS' && r.node_id === cluster.nodeId(1));
      const fresh = (r: RequestRow) => r.started_at !== null && Date.now() - r.started_at < RUN_MS / 2;
      return onB.length > 0 && onB.every(fresh) ? true : undefined;
    });
    await cluster.killNode(1);
    const rows = await waitFor(
      'every request completed',
      async () => {
        const got = await requestRows(cluster, ids);
        return got.length === ids.length && got.every((r) => r.status === 'COMPLETED') ? got : undefined;
      },
      120_000,
    );
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    for (const r of rows) expect(r.status_code).toBe(200);
    // At least one request was caught on the dead node and ran again (an attempt more).
    expect(rows.some((r) => r.attempts > 1)).toBe(true);
    // Each ran to its end exactly once, by the app's own record.
    const runs = echoRuns(cluster);
    expect(ids.filter((id) => runs.get(id) !== 1)).toEqual([]);
    // The Platform API lists each once, from the surviving nodes.
    for (const i of [0, 2]) {
      const listed = new Map<string, number>();
      let cursor: string | undefined;
      do {
        const q = `/v1/serverless/requests/by-endpoint?endpoint_id=${APP}&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await call(url(i), cluster.adminKey, 'GET', q);
        expect(page.status).toBe(200);
        for (const item of page.body.items)
          listed.set(item.request_id, (listed.get(item.request_id) ?? 0) + 1);
        cursor = page.body.next_cursor ?? undefined;
      } while (cursor);
      expect(ids.filter((id) => listed.get(id) !== 1)).toEqual([]);
    }
    // Results are served by any survivor.
    const result = await call(url(2), cluster.adminKey, 'GET', `/queue/${APP}/requests/${ids[1]}`);
    expect(result.body.echo).toMatchObject({ n: 1 });
  }, 240_000);
});
