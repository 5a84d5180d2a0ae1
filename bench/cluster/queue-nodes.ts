// Completed queued requests per second through the cluster queue with 1, 2 and 3 nodes in one process
// (each node: its own runner pool with one runner of a trivial app, its own Redis connections, one shared
// request store), against the embedded supervisor with one runner (no Redis) measured in the same run.
// All nodes share this machine's cores, so the figures show the queue's overhead, not a cluster's reach.
//
//   npm run build && npx tsx bench/cluster/queue-nodes.ts [requests=2000] [concurrency=32] [multiplexing=4]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from '@hangar/core';
import {
  accepted,
  CountingRequests,
  startNode,
  type TestNode,
} from '../../packages/server/src/cluster/queue/cluster-queue.test-helper.js';
import { openRedis } from '../../packages/server/src/cluster/redis.js';
import {
  harness,
  makeAppDir,
  manifest,
  revision,
  until,
} from '../../packages/server/src/runners/supervisor.test-helper.js';
import { startRedis } from '../../packages/server/src/test-services/redis.test-helper.js';

const N = Number(process.argv[2] ?? 2000);
const C = Number(process.argv[3] ?? 32);
const MUX = Number(process.argv[4] ?? 4);
const m = manifest({ name: 'bench', max_multiplexing: MUX, min_concurrency: 1, max_concurrency: 1 });

interface Figures {
  perS: number;
  cpuMsPerRequest: number;
}

/** Sends N requests through `dispatch` from C concurrent callers; every one must answer 200. */
async function load(dispatcher: Dispatcher, requests: CountingRequests): Promise<Figures> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        const res = await dispatcher.dispatch(await accepted(requests, 'bench', {}));
        if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perS: N / s, cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / N };
}

/** The reference: the embedded supervisor's own queue, one runner, no Redis. */
async function embeddedRun(print: boolean): Promise<Figures> {
  const embedded = harness({}, dataRoot);
  const { app: a, rev } = revision(app.dir, m);
  await embedded.sup.deploy(a, rev);
  await until(() => embedded.sup.stats()[0]?.runners.idle === 1);
  const f = await load(embedded.sup, new CountingRequests(Date.now, 65_536));
  await embedded.sup.close(2000);
  if (print)
    console.log(
      `embedded (1 runner)               ${f.perS.toFixed(0).padStart(6)} req/s  ${f.cpuMsPerRequest.toFixed(2)} ms CPU/req`,
    );
  return f;
}

const app = makeAppDir();
const dataRoot = mkdtempSync(join(tmpdir(), 'hangar-bench-'));
const redis = await startRedis({ appendfsync: 'everysec' });
try {
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${N} requests, ${C} callers, multiplexing ${MUX}`,
  );
  await embeddedRun(false); // warm-up: JIT, page cache, the runner's first start
  const before = await embeddedRun(true);
  const results: Array<[number, Figures, number]> = [];
  for (const count of [1, 2, 3]) {
    const admin = openRedis(redis.url, { name: 'bench-admin' });
    await admin.flushall();
    admin.disconnect();
    const requests = new CountingRequests(Date.now, 65_536);
    const manifests = new Map([['alice/bench', m]]);
    const nodes: TestNode[] = [];
    for (let i = 0; i < count; i++) {
      const node = await startNode(`bench-${i}`, redis.url, requests, dataRoot, manifests, 5000);
      const { app: a2, rev: r2 } = revision(app.dir, m);
      await node.sup.deploy(a2, r2);
      await until(() => node.sup.runners('alice', 'bench').some((r) => r.state === 'idle'));
      nodes.push(node);
    }
    // Callers are spread over the nodes, as a load balancer would.
    let turn = 0;
    const spread: Dispatcher = {
      ...nodes[0]!.sup,
      dispatch: (req) => nodes[turn++ % count]!.sup.dispatch(req),
    };
    const f = await load(spread, requests);
    const twice =
      [...requests.completions.values()].filter((n) => n !== 1).length + (N - requests.completions.size);
    results.push([count, f, twice]);
    await Promise.all(nodes.map((n) => n.sup.close(2000)));
  }
  const after = await embeddedRun(true);
  const reference = (before.perS + after.perS) / 2;
  for (const [count, f, twice] of results) {
    console.log(
      `cluster, ${count} node(s) × 1 runner  ${f.perS.toFixed(0).padStart(6)} req/s  ${f.cpuMsPerRequest.toFixed(2)} ms CPU/req  ×${(f.perS / reference).toFixed(2)} of embedded (mean of both runs); recorded other than once: ${twice}`,
    );
  }
} finally {
  await redis.close();
  app.cleanup();
  rmSync(dataRoot, { recursive: true, force: true });
}
