// The reliability harness: a cluster under steady queued load while runner kills, node kills (-9, then
// restart), PostgreSQL restarts and Redis restarts are injected at random; then every accepted request must
// be recorded once and finished, and every runner's metered seconds must equal its lifetime (±1 s).
import { startCluster, type TestCluster } from './cluster.js';
import { call, deployEcho, echoRuns, OWNER, waitFor, withDb } from './cluster-calls.js';

/** Parameters of one chaos run. */
export interface ChaosOptions {
  nodes: number;
  durationMs: number;
  /** Mean faults per second (intervals are exponential); a fault that restarts something is awaited. */
  faultsPerS: number;
  /** Queued requests per second the load sends, spread over the live nodes. */
  requestsPerS: number;
  /** The kinds of fault to inject (default: all, weighted). */
  kinds?: Fault[];
  /**
   * Mean runner kills per second on a stream of their own, beside the other faults (default: none; runner
   * kills are then drawn with the others). A kill takes no time to inject, a node restart seconds, so a
   * separate stream is how a long run reaches thousands of faults.
   */
  runnerKillsPerS?: number;
  log?: (line: string) => void;
}

/** What a chaos run did and found. */
export interface ChaosReport {
  faults: Record<Fault, number>;
  accepted: number;
  refused: number;
  completed200: number;
  failed: number;
  ranMoreThanOnce: number;
  runners: number;
  violations: string[];
}

/** A kind of injected fault. */
export type Fault = 'runner' | 'node' | 'postgres' | 'redis';
const FAULTS: Array<[Fault, number]> = [
  ['runner', 0.55],
  ['node', 0.15],
  ['postgres', 0.15],
  ['redis', 0.15],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the cluster, the load and the faults, then checks; always closes the cluster. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const cluster = await startCluster({ nodes: opts.nodes });
  try {
    const app = `${OWNER}/echo`;
    await deployEcho(cluster.nodes[0]!.url, cluster.adminKey, {
      min_concurrency: 1,
      max_concurrency: 2,
      max_multiplexing: 4,
    });
    const faults: Record<Fault, number> = { runner: 0, node: 0, postgres: 0, redis: 0 };
    const accepted = new Set<string>();
    let refused = 0;
    const up = new Set(Array.from({ length: opts.nodes }, (_, i) => i));
    const until = Date.now() + opts.durationMs;

    const load = (async () => {
      for (let n = 0; Date.now() < until; n++) {
        const nodes = [...up];
        const i = nodes[n % Math.max(1, nodes.length)];
        if (i !== undefined) {
          const body = { n, sleep_ms: 100 + (n % 5) * 100, record: true };
          void call(cluster.nodes[i]!.url, cluster.adminKey, 'POST', `/queue/${app}`, body).then((res) => {
            if ((res.status === 200 || res.status === 202) && res.body?.request_id)
              accepted.add(res.body.request_id);
            else refused++;
          });
        }
        await sleep(1000 / opts.requestsPerS);
      }
    })();

    const stream = async (perS: number, kinds?: Fault[]) => {
      while (Date.now() < until) {
        await sleep(-Math.log(1 - Math.random()) * (1000 / perS));
        if (Date.now() >= until) break;
        const fault = pick(kinds);
        if (await inject(cluster, fault, up)) {
          faults[fault]++;
          log(`fault ${fault} (${Object.values(faults).reduce((a, b) => a + b, 0)} so far)`);
        }
      }
    };
    const kills = opts.runnerKillsPerS;
    const others = kills ? (opts.kinds ?? FAULTS.map(([f]) => f)).filter((f) => f !== 'runner') : opts.kinds;
    await Promise.all([
      others?.length === 0 ? Promise.resolve() : stream(opts.faultsPerS, others),
      kills ? stream(kills, ['runner']) : Promise.resolve(),
    ]);
    await load;
    for (let i = 0; i < opts.nodes; i++) if (!up.has(i)) await restartNode(cluster, i, up);
    log(`load over: ${accepted.size} accepted, ${refused} refused; waiting for every request to end`);
    return await check(cluster, [...accepted], faults, refused, opts.nodes);
  } finally {
    await cluster.close();
  }
}

function pick(kinds?: Fault[]): Fault {
  const weighted = FAULTS.filter(([f]) => !kinds || kinds.includes(f));
  let r = Math.random() * weighted.reduce((a, [, w]) => a + w, 0);
  for (const [fault, weight] of weighted) {
    r -= weight;
    if (r <= 0) return fault;
  }
  return weighted[0]?.[0] ?? 'runner';
}

/** Injects one fault; false when there was nothing to hit (no live runner). */
async function inject(cluster: TestCluster, fault: Fault, up: Set<number>): Promise<boolean> {
  switch (fault) {
    case 'runner': {
      const pids = await withDb(cluster, (db) =>
        db.query(`SELECT pid FROM runners WHERE ended_at IS NULL AND pid IS NOT NULL`),
      ).catch(() => ({ rows: [] as { pid: string }[] }));
      const pid = Number(pids.rows[Math.floor(Math.random() * pids.rows.length)]?.pid);
      if (!Number.isInteger(pid) || pid <= 1) return false;
      try {
        process.kill(pid, 'SIGKILL');
        return true;
      } catch {
        return false;
      }
    }
    case 'node': {
      const candidates = [...up];
      if (candidates.length < 2) return false;
      const i = candidates[Math.floor(Math.random() * candidates.length)]!;
      up.delete(i);
      await cluster.killNode(i);
      await sleep(500);
      await restartNode(cluster, i, up);
      return true;
    }
    case 'postgres':
      await cluster.pg.kill();
      await sleep(300);
      await cluster.pg.start();
      return true;
    case 'redis':
      await cluster.redis.kill();
      await sleep(300);
      await cluster.redis.start();
      return true;
  }
}

/** Starts node `i` again, retrying while its engines are restarting. */
async function restartNode(cluster: TestCluster, i: number, up: Set<number>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await cluster.startNode(i);
      up.add(i);
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(1000);
    }
  }
}

async function check(
  cluster: TestCluster,
  ids: string[],
  faults: Record<Fault, number>,
  refused: number,
  nodes: number,
): Promise<ChaosReport> {
  const violations: string[] = [];
  type Row = { request_id: string; rows: number; status: string; status_code: number | null };
  const rows = await waitFor(
    'every accepted request to end',
    async () => {
      const got = await withDb(cluster, (db) =>
        db.query(
          `SELECT request_id, count(*)::int AS rows, min(status) AS status, min(status_code) AS status_code
             FROM requests WHERE request_id = ANY($1) GROUP BY request_id`,
          [ids],
        ),
      ).catch(() => null);
      const list = (got?.rows ?? []) as Row[];
      return list.length === ids.length && list.every((r) => r.status === 'COMPLETED') ? list : undefined;
    },
    180_000,
  ).catch(async () => {
    violations.push('not every accepted request ended within 180 s after the load');
    return (
      await withDb(cluster, (db) =>
        db.query(
          `SELECT request_id, count(*)::int AS rows, min(status) AS status, min(status_code) AS status_code
           FROM requests WHERE request_id = ANY($1) GROUP BY request_id`,
          [ids],
        ),
      )
    ).rows as Row[];
  });
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  for (const id of ids) {
    const r = byId.get(id);
    if (!r) violations.push(`${id}: accepted but not recorded`);
    else if (r.rows !== 1) violations.push(`${id}: recorded ${r.rows} times`);
    else if (r.status !== 'COMPLETED') violations.push(`${id}: left ${r.status}`);
  }
  const runs = echoRuns(cluster);
  const ranMoreThanOnce = ids.filter((id) => (runs.get(id) ?? 0) > 1).length;
  for (const id of ids) {
    const r = byId.get(id);
    if (r?.status_code === 200 && (runs.get(id) ?? 0) === 0) violations.push(`${id}: 200 without a run`);
  }
  // Drain every node, so every runner ends and is metered to its real end.
  for (let i = 0; i < nodes; i++) await cluster.stopNode(i);
  const meter = await withDb(cluster, (db) =>
    db.query(
      `SELECT r.runner_id, r.started_at::float8 AS started_at, r.ended_at::float8 AS ended_at, r.state_times,
              COALESCE((SELECT sum(m.seconds) FROM meter m WHERE m.runner_id = r.runner_id), 0)::float8 AS metered
         FROM runners r`,
    ),
  );
  for (const r of meter.rows as {
    runner_id: string;
    started_at: number;
    ended_at: number | null;
    state_times: string | null;
    metered: number;
  }[]) {
    if (r.ended_at === null) {
      violations.push(`runner ${r.runner_id}: never ended`);
      continue;
    }
    // A runner's machine time starts with its setup (its process); one that ended before (its start
    // failed while it waited, `pending`) lived no machine time, whatever its row's creation time says.
    const times = r.state_times ? (JSON.parse(r.state_times) as { timeline?: { state: string }[] }) : null;
    const setUp = !times?.timeline || times.timeline.some((t) => t.state === 'setup');
    const life = setUp ? (r.ended_at - r.started_at) / 1000 : 0;
    if (Math.abs(life - r.metered) > 1)
      violations.push(
        `runner ${r.runner_id}: metered ${r.metered.toFixed(2)} s, lived ${life.toFixed(2)} s${await runnerStory(cluster, r.runner_id)}`,
      );
  }
  return {
    faults,
    accepted: ids.length,
    refused,
    completed200: rows.filter((r) => r.status_code === 200).length,
    failed: rows.filter((r) => r.status === 'COMPLETED' && r.status_code !== 200).length,
    ranMoreThanOnce,
    runners: meter.rows.length,
    violations,
  };
}

/** What the registry and the events say of one runner, for a violation's message. */
async function runnerStory(cluster: TestCluster, runnerId: string): Promise<string> {
  const got = await withDb(cluster, async (db) => ({
    row: (
      await db.query(
        `SELECT node_id, state, started_at::float8 AS s, ended_at::float8 AS e, metered_until::float8 AS m
           FROM runners WHERE runner_id = $1`,
        [runnerId],
      )
    ).rows[0],
    events: (
      await db.query(
        `SELECT created_at::float8 AS t, category, payload FROM events WHERE payload LIKE $1 ORDER BY 1`,
        [`%${runnerId}%`],
      )
    ).rows,
  })).catch(() => null);
  if (!got?.row) return '';
  const { row } = got;
  const at = (t: number | null) => (t === null ? 'null' : `${((t - row.s) / 1000).toFixed(2)}`);
  const events = got.events.map((e: { t: number; category: string; payload: string }) => {
    const p = JSON.parse(e.payload) as { state?: string; reason?: string };
    return `${at(e.t)} ${e.category}/${p.state ?? ''}${p.reason ? ` (${p.reason})` : ''}`;
  });
  return ` [node ${row.node_id}, ${row.state}, ended +${at(row.e)}, metered_until +${at(row.m)}; events: ${events.join('; ')}]`;
}
