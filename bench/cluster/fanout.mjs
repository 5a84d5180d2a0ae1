// Fan-out engines for live streams, measured in one run on this machine: Redis Streams (XADD + XREAD BLOCK,
// what Hangar uses) against PostgreSQL LISTEN/NOTIFY (a row written and notified in one transaction), with
// the same row written without NOTIFY as the reference. Each variant: WRITERS concurrent writers for
// DURATION_MS (ROUNDS times, interleaved), one reader on its own connection timing publish → delivery. Not a test: prints Markdown.
//
//   npx tsx bench/cluster/fanout.mjs            (starts redis-server and PostgreSQL 15 in temp folders)
//   BENCH_WRITERS=32 BENCH_DURATION_MS=5000 BENCH_ROUNDS=5 npx tsx bench/cluster/fanout.mjs
import { cpus, loadavg, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startPostgres } from '../../packages/server/src/test-services/postgres.test-helper.ts';
import { startRedis } from '../../packages/server/src/test-services/redis.test-helper.ts';

const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
/** Variants run in turn this many times (the machine is shared: interleaving spreads its noise evenly). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAYLOAD = JSON.stringify({
  status: 'IN_PROGRESS',
  request_id: '0'.repeat(36),
  logs: [],
  pad: 'x'.repeat(120),
});

const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;

/** Runs `write` in WRITERS loops for DURATION_MS; `delivered` gets latencies from the reader. */
async function run(name, write, latencies) {
  let writes = 0;
  const until = performance.now() + DURATION_MS;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      while (performance.now() < until) {
        await write(w);
        writes++;
      }
    }),
  );
  const secs = (performance.now() - began) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  const sorted = latencies.splice(0).sort((a, b) => a - b);
  return {
    name,
    perSec: writes / secs,
    writes,
    delivered: sorted.length,
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
  };
}

async function redisStreams(url) {
  const writers = Array.from({ length: WRITERS }, () => new Redis(url));
  const reader = new Redis(url);
  const latencies = [];
  let stop = false;
  let cursor = '$';
  const reading = (async () => {
    while (!stop) {
      const res = await reader.xread('COUNT', 1000, 'BLOCK', 200, 'STREAMS', 'hangar:bus:bench', cursor);
      for (const [, entries] of res ?? []) {
        for (const [id, fields] of entries) {
          latencies.push(performance.now() - Number(fields[1]));
          cursor = id;
        }
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  const result = await run(
    'Redis Streams: XADD MAXLEN ~ 10000 → XREAD BLOCK',
    (w) =>
      writers[w].xadd(
        'hangar:bus:bench',
        'MAXLEN',
        '~',
        10000,
        '*',
        't',
        String(performance.now()),
        'd',
        PAYLOAD,
      ),
    latencies,
  );
  stop = true;
  await reading;
  for (const c of [...writers, reader]) c.disconnect();
  return result;
}

async function postgres(url, notify) {
  const pool = new pg.Pool({ connectionString: url, max: WRITERS });
  await pool.query('CREATE TABLE IF NOT EXISTS bus (id BIGSERIAL PRIMARY KEY, t DOUBLE PRECISION, d TEXT)');
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  const latencies = [];
  listener.on('notification', (n) => latencies.push(performance.now() - Number(n.payload)));
  await listener.query('LISTEN hangar_bus');
  const sql = notify
    ? "WITH i AS (INSERT INTO bus (t, d) VALUES ($1, $2) RETURNING t) SELECT pg_notify('hangar_bus', t::text) FROM i"
    : 'INSERT INTO bus (t, d) VALUES ($1, $2)';
  const name = notify
    ? 'PostgreSQL: INSERT + pg_notify in one transaction → LISTEN'
    : 'PostgreSQL: the same INSERT, no NOTIFY (reference)';
  const result = await run(name, () => pool.query(sql, [performance.now(), PAYLOAD]), latencies);
  await listener.end();
  await pool.end();
  return result;
}

const redis = await startRedis();
const pgServer = await startPostgres();
try {
  const db = await pgServer.createDatabase();
  const runs = [[], [], []];
  for (let round = 0; round < ROUNDS; round++) {
    runs[0].push(await redisStreams(redis.url));
    runs[1].push(await postgres(db, true));
    runs[2].push(await postgres(db, false));
  }
  // Per variant, the round with the median rate.
  const rows = runs.map((rs) => [...rs].sort((a, b) => a.perSec - b.perSec)[Math.floor(rs.length / 2)]);
  const ref = rows[2].perSec;
  const fmt = (n) => (Number.isFinite(n) ? n.toFixed(2) : '–');
  console.log(`\n## Fan-out: Redis Streams vs PostgreSQL LISTEN/NOTIFY\n`);
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `Run: ${WRITERS} concurrent writers × ${DURATION_MS} ms per variant, ${ROUNDS} interleaved rounds (median round shown); Redis appendfsync always, PostgreSQL fsync on\n`,
  );
  console.log('| variant | writes/s | × reference | delivered | delivery p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const delivered = r.name.includes('no NOTIFY') ? '–' : `${r.delivered}/${r.writes}`;
    console.log(
      `| ${r.name} | ${r.perSec.toFixed(0)} | ${(r.perSec / ref).toFixed(2)} | ${delivered} | ${r.name.includes('no NOTIFY') ? '–' : fmt(r.p50)} | ${r.name.includes('no NOTIFY') ? '–' : fmt(r.p99)} |`,
    );
  }
} finally {
  await redis.close();
  await pgServer.close();
}
