// Completed queued requests per second through real `hangar serve` processes: a cluster of 1, 2 and 3 nodes
// (PostgreSQL + Redis, each node one runner of examples/echo-node), against one embedded server (SQLite, no
// Redis) measured in the same run. CPU per request is read from /proc for each server process (runners not
// counted). All processes share this machine's cores: the figures show the cost of the cluster's engines and
// hops, not a cluster's reach over several machines.
//
//   npm run build && npx tsx bench/cluster/queue-processes.ts [requests=1500] [callers=32] [multiplexing=8]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startCluster } from '../../test/e2e/cluster.js';
import { call, deployEcho, OWNER, waitFor, withDb } from '../../test/e2e/cluster-calls.js';
import { type ServerProcess, startServerProcess } from '../../test/e2e/server-process.js';

const N = Number(process.argv[2] ?? 1500);
const C = Number(process.argv[3] ?? 32);
const MUX = Number(process.argv[4] ?? 8);
const APP = `${OWNER}/echo`;
const TICK_MS = 1000 / 100; // USER_HZ on Linux

interface Figures {
  perS: number;
  cpuMsPerRequest: number;
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * Submits N queued requests from C callers spread over `servers`, and waits until `completed()` counts them
 * all: requests/s from the first submit to the last completion, and the servers' CPU per request.
 */
async function load(
  servers: ServerProcess[],
  key: string,
  completed: () => Promise<number>,
): Promise<Figures> {
  const pids = servers.map((s) => s.child.pid!);
  const cpu0 = pids.map(cpuMs);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        const n = next++;
        const res = await call(servers[n % servers.length]!.url, key, 'POST', `/queue/${APP}`, { n });
        if (res.status !== 200) throw new Error(`submit answered ${res.status}`);
      }
    }),
  );
  await waitFor(
    'every request to complete',
    async () => ((await completed()) >= N ? true : undefined),
    600_000,
  );
  const s = (performance.now() - t0) / 1000;
  const cpu = pids.map(cpuMs).reduce((a, b, i) => a + b - cpu0[i]!, 0);
  return { perS: N / s, cpuMsPerRequest: cpu / N };
}

async function embeddedRun(): Promise<Figures> {
  const home = mkdtempSync(join(tmpdir(), 'hangar-bench-embedded-'));
  const server = await startServerProcess(home);
  try {
    await deployEcho(server.url, server.key, {
      min_concurrency: 1,
      max_concurrency: 1,
      max_multiplexing: MUX,
    });
    await call(server.url, server.key, 'POST', `/run/${APP}`, { warm: true });
    const db = new Database(join(home, 'hangar.db'), { readonly: true });
    const stmt = db.prepare(
      `SELECT count(*) AS n FROM requests WHERE mode = 'queue' AND status = 'COMPLETED'`,
    );
    try {
      return await load([server], server.key, async () => (stmt.get() as { n: number }).n);
    } finally {
      db.close();
    }
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(home, { recursive: true, force: true });
  }
}

async function clusterRun(nodes: number): Promise<Figures> {
  const cluster = await startCluster({ nodes });
  try {
    await deployEcho(cluster.nodes[0]!.url, cluster.adminKey, {
      min_concurrency: 1,
      max_concurrency: 1,
      max_multiplexing: MUX,
    });
    await waitFor('a runner on every node', async () => {
      const res = await withDb(cluster, (db) =>
        db.query(
          `SELECT count(DISTINCT node_id)::int AS n FROM runners WHERE ended_at IS NULL AND state = 'idle'`,
        ),
      );
      return res.rows[0].n >= nodes ? true : undefined;
    });
    const completed = () =>
      withDb(cluster, async (db) => {
        const res = await db.query(
          `SELECT count(*)::int AS n FROM requests WHERE mode = 'queue' AND status = 'COMPLETED'`,
        );
        return res.rows[0].n as number;
      });
    return await load(cluster.nodes.slice(0, nodes), cluster.adminKey, completed);
  } finally {
    await cluster.close();
  }
}

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${N} queued requests, ${C} callers, multiplexing ${MUX}`,
);
const line = (name: string, f: Figures, ref?: number) =>
  console.log(
    `${name.padEnd(34)} ${f.perS.toFixed(0).padStart(6)} req/s  ${f.cpuMsPerRequest.toFixed(2)} ms server CPU/req${ref ? `  ×${(f.perS / ref).toFixed(2)} of embedded` : ''}`,
  );
const before = await embeddedRun();
line('embedded (SQLite, 1 runner)', before);
const results: Array<[number, Figures]> = [];
for (const n of [1, 2, 3]) results.push([n, await clusterRun(n)]);
const after = await embeddedRun();
line('embedded again', after);
const ref = (before.perS + after.perS) / 2;
for (const [n, f] of results) line(`cluster, ${n} node(s) × 1 runner`, f, ref);
