// Claim throughput and latency of the cluster queue: Redis (the Lua scripts of RedisWorkQueue) against
// PostgreSQL `FOR UPDATE SKIP LOCKED`, both on real servers started the way the tests start them, in two
// durability modes: `durable` (Redis appendfsync always, PostgreSQL synchronous_commit on: every
// acknowledged claim is on disk) and `relaxed` (Redis appendfsync everysec, PostgreSQL synchronous_commit
// off: up to ~1 s of acknowledged writes may be lost on a machine crash, none on a process crash for
// Redis). Each run: W workers (one connection each) enqueue N requests of one app, then claim and
// complete (two round trips, the latency measured) until the queue is empty.
//
//   npm run build && npx tsx bench/cluster/queue-claim.ts [requests=5000] [workers=1,4,16] [modes=durable,relaxed]
import { cpus } from 'node:os';
import pg from 'pg';
import { RedisWorkQueue } from '../../packages/server/src/cluster/queue/redis-work-queue.js';
import { openRedis } from '../../packages/server/src/cluster/redis.js';
import { startPostgres } from '../../packages/server/src/test-services/postgres.test-helper.js';
import { startRedis } from '../../packages/server/src/test-services/redis.test-helper.js';

const N = Number(process.argv[2] ?? 5000);
const WORKERS = (process.argv[3] ?? '1,4,16').split(',').map(Number);
const RETRIES = { server_error: 0, timeout: 0, connection_error: 0 };

interface Claimer {
  enqueue(id: string, sentAt: number): Promise<void>;
  /** Claims one request and completes it; false when the queue is empty. */
  claimOne(node: string, lat: number[]): Promise<boolean>;
  close(): Promise<void>;
}

interface Result {
  enqueuePerS: number;
  claimsPerS: number;
  p50: number;
  p99: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function measure(open: () => Promise<Claimer>, workers: number): Promise<Result> {
  const claimers = await Promise.all(Array.from({ length: workers }, open));
  const t0 = performance.now();
  const base = Date.now();
  await Promise.all(
    claimers.map(async (c, k) => {
      for (let j = k; j < N; j += workers) await c.enqueue(`r${base}-${j}`, base + j);
    }),
  );
  const enqueueS = (performance.now() - t0) / 1000;
  const lat: number[] = [];
  const t1 = performance.now();
  await Promise.all(
    claimers.map(async (c, i) => {
      while (await c.claimOne(`node-${i}`, lat));
    }),
  );
  const claimS = (performance.now() - t1) / 1000;
  for (const c of claimers) await c.close();
  if (lat.length !== N) throw new Error(`claimed ${lat.length} of ${N}`);
  lat.sort((a, b) => a - b);
  return { enqueuePerS: N / enqueueS, claimsPerS: N / claimS, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

function redisClaimer(url: string): () => Promise<Claimer> {
  return async () => {
    const q = new RedisWorkQueue(openRedis(url, { name: 'bench' }));
    return {
      enqueue: (id, sentAt) =>
        q.enqueue({
          requestId: id,
          owner: 'bench',
          app: 'app',
          priority: 'normal',
          sentAt,
          startDeadline: null,
          attempts: 0,
          retriesBy: RETRIES,
          acceptedBy: 'node-0',
          spec: '{"path":"/","method":"POST"}',
        }),
      async claimOne(node, lat) {
        const t = performance.now();
        const claim = await q.claim('bench', 'app', node, 10_000, Date.now());
        if (!claim) return false;
        await q.complete(claim.work.requestId, claim.token);
        lat.push(performance.now() - t);
        return true;
      },
      close: () => q.close(),
    };
  };
}

const PG_SCHEMA = `
CREATE SEQUENCE queue_token;
CREATE TABLE queue_work (
  request_id TEXT PRIMARY KEY, owner TEXT NOT NULL, app TEXT NOT NULL, band SMALLINT NOT NULL,
  sent_at BIGINT NOT NULL, state CHAR(1) NOT NULL, token BIGINT, node TEXT, lease_until BIGINT, work TEXT NOT NULL);
CREATE INDEX queue_work_waiting ON queue_work (owner, app, band, sent_at) WHERE state = 'q';
CREATE INDEX queue_work_leases ON queue_work (lease_until) WHERE state = 'c';`;

const PG_CLAIM = `
UPDATE queue_work SET state = 'c', token = nextval('queue_token'), node = $3, lease_until = $4
WHERE request_id = (
  SELECT request_id FROM queue_work WHERE owner = $1 AND app = $2 AND state = 'q'
  ORDER BY band, sent_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING request_id, token, work`;

function pgClaimer(url: string): () => Promise<Claimer> {
  return async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      async enqueue(id, sentAt) {
        await client.query(
          `INSERT INTO queue_work (request_id, owner, app, band, sent_at, state, work)
           VALUES ($1, 'bench', 'app', 0, $2, 'q', '{"path":"/","method":"POST"}') ON CONFLICT DO NOTHING`,
          [id, sentAt],
        );
      },
      async claimOne(node, lat) {
        const t = performance.now();
        const got = await client.query(PG_CLAIM, ['bench', 'app', node, Date.now() + 10_000]);
        const row = got.rows[0] as { request_id: string; token: string } | undefined;
        if (!row) return false;
        await client.query(`DELETE FROM queue_work WHERE request_id = $1 AND token = $2 AND state = 'c'`, [
          row.request_id,
          row.token,
        ]);
        lat.push(performance.now() - t);
        return true;
      },
      close: () => client.end(),
    };
  };
}

const MODES = (process.argv[4] ?? 'durable,relaxed').split(',') as Array<'durable' | 'relaxed'>;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${N} requests per run`);
for (const mode of MODES) {
  const redis = await startRedis({ appendfsync: mode === 'durable' ? 'always' : 'everysec' });
  const postgres = await startPostgres(mode === 'durable' ? {} : { settings: { synchronous_commit: 'off' } });
  try {
    await runMode(mode, redis.url, postgres);
  } finally {
    await redis.close();
    await postgres.close();
  }
}

async function runMode(
  mode: string,
  redisUrl: string,
  postgres: { createDatabase(): Promise<string> },
): Promise<void> {
  console.log(`\n${mode}`);
  console.log('engine     workers  enqueue/s  claim+complete/s  p50 ms  p99 ms');
  for (const w of WORKERS) {
    const flush = openRedis(redisUrl, { name: 'bench-admin' });
    await flush.flushall();
    flush.disconnect();
    const r = await measure(redisClaimer(redisUrl), w);
    const dbUrl = await postgres.createDatabase();
    const admin = new pg.Client({ connectionString: dbUrl });
    await admin.connect();
    await admin.query(PG_SCHEMA);
    await admin.end();
    const p = await measure(pgClaimer(dbUrl), w);
    const row = (name: string, x: Result) =>
      `${name.padEnd(10)} ${String(w).padStart(7)}  ${x.enqueuePerS.toFixed(0).padStart(9)}  ${x.claimsPerS.toFixed(0).padStart(16)}  ${x.p50.toFixed(2).padStart(6)}  ${x.p99.toFixed(2).padStart(6)}`;
    console.log(row('redis', r));
    console.log(row('postgres', p));
    console.log(
      `           ratio redis/postgres claim+complete/s: ${(r.claimsPerS / p.claimsPerS).toFixed(2)}×`,
    );
  }
}
