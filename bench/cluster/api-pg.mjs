#!/usr/bin/env -S npx tsx
// Platform API reads on PostgreSQL beside SQLite, in the same run, on the same rows: a home seeded by
// bench/api/seed.mjs is copied into a fresh PostgreSQL 15 (migrated, then `\copy`), and each operation of
// the API benchmark is asked N times in a row of both backends through their PlatformReads (the SQLite
// queries inline on a read-only connection, as a query worker runs them; PostgreSQL through a pg Pool).
// Prints p50/p95 per operation and the PostgreSQL/SQLite ratio. Run with tsx (it imports the TS sources):
//
//   node bench/api/seed.mjs --home DIR [--requests N --logs N …]
//   npx tsx bench/cluster/api-pg.mjs --home DIR [--n 100] [--database-url postgres://…]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ANALYTICS_METRICS } from '../../packages/core/src/index.ts';
import { logFilterFixture } from '../../packages/server/src/store/fixtures.ts';
import { loadMigrations, migratePostgres } from '../../packages/server/src/store/postgres/migrate.ts';
import { runPostgresMaintenance } from '../../packages/server/src/store/postgres/partitions.ts';
import { createPostgresReads } from '../../packages/server/src/store/postgres/reads/index.ts';
import { sqliteReads } from '../../packages/server/src/store/reads-world.test-helper.ts';
import { openReadOnly } from '../../packages/server/src/store/sqlite/index.ts';
import {
  postgresBinDir,
  startPostgres,
} from '../../packages/server/src/test-services/postgres.test-helper.ts';

const { values: opt } = parseArgs({
  options: {
    home: { type: 'string' },
    n: { type: 'string', default: '100' },
    'database-url': { type: 'string' },
  },
});
if (!opt.home) {
  console.error('usage: npx tsx bench/cluster/api-pg.mjs --home DIR [--n 100] [--database-url URL]');
  process.exit(2);
}
const N = Number(opt.n);
const HOUR = 3_600_000;
const meta = JSON.parse(readFileSync(join(opt.home, 'bench-seed.json'), 'utf8'));
const sqlite = openReadOnly(join(opt.home, 'hangar.db'));
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);

// ------------------------------------------------------------------------------------ PostgreSQL copy
let server = null;
let url = opt['database-url'];
if (!url) {
  server = await startPostgres({
    settings: { shared_buffers: '512MB', work_mem: '32MB', max_wal_size: '4GB' },
  });
  url = await server.createDatabase('bench');
}
const pool = new pg.Pool({ connectionString: url, max: 4 });
await migratePostgres({ query: async (t, p) => (await pool.query(t, p)).rows }, await loadMigrations());

const TABLES = [
  'owners',
  'apps',
  'revisions',
  'events',
  'runners',
  'meter',
  'runner_samples',
  'request_rollups',
  'requests',
  'logs',
];
const csv = (v) => {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return `"${String(v).replaceAll('"', '""')}"`;
};
const psql = join(postgresBinDir() ?? '/usr/bin', 'psql');

/** Streams one SQLite table into PostgreSQL with `\copy … FROM STDIN (FORMAT csv)`. */
async function copyTable(table) {
  const pgCols = (
    await pool.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1', [table])
  ).rows.map((r) => r.column_name);
  const cols = sqlite
    .prepare(`SELECT * FROM ${table} LIMIT 1`)
    .columns()
    .map((c) => c.name)
    .filter((c) => pgCols.includes(c));
  const child = spawn(
    psql,
    [
      url,
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy ${table} (${cols.join(', ')}) FROM STDIN WITH (FORMAT csv)`,
    ],
    { stdio: ['pipe', 'inherit', 'inherit'] },
  );
  const done = new Promise((res, rej) =>
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`psql copy ${table}: ${code}`)))),
  );
  let n = 0;
  let chunk = '';
  for (const row of sqlite
    .prepare(`SELECT ${cols.join(', ')} FROM ${table}`)
    .raw(true)
    .iterate()) {
    chunk += `${row.map(csv).join(',')}\n`;
    if (++n % 5000 === 0) {
      if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
      chunk = '';
    }
  }
  child.stdin.end(chunk);
  await done;
  return n;
}

const c0 = performance.now();
// A database that already holds the rows (a second run with --database-url) is measured as it is.
const filled = Number((await pool.query('SELECT count(*) AS n FROM requests')).rows[0].n) > 0;
if (!filled) {
  // The partitions a cluster's leader would have made over the seeded days (daily for logs and samples,
  // weekly for requests), so the rows land where they would in production and not in the DEFAULT ones.
  const one = new pg.Client({ connectionString: url });
  await one.connect();
  const session = { query: async (t, p) => (await one.query(t, p)).rows };
  const keepAll = { requests: 0, logs: 0, samples: 0 };
  for (let now = meta.start - 7 * 24 * HOUR; now < meta.end + 7 * 24 * HOUR; now += 7 * 24 * HOUR) {
    await runPostgresMaintenance(session, now, keepAll);
  }
  await one.end();
  // Indexes are built once after the copy (as a restore would), not row by row.
  const trgm = (await pool.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'logs_message_trgm'"))
    .rows[0]?.indexdef;
  if (trgm) await pool.query('DROP INDEX logs_message_trgm');
  // meter_rollups is filled once from the copied meter rows rather than by the trigger row by row.
  await pool.query('ALTER TABLE meter DISABLE TRIGGER meter_rollups_sync');
  for (const t of TABLES) log(`copied ${t}: ${(await copyTable(t)).toLocaleString('en-US')} rows`);
  await pool.query(`INSERT INTO meter_rollups
    SELECT owner, s.span, minute - minute % s.span, app, environment, machine_type, is_surge, SUM(seconds)
    FROM meter, (VALUES (900000::BIGINT), (3600000::BIGINT)) AS s(span) GROUP BY 1, 2, 3, 4, 5, 6, 7`);
  await pool.query('ALTER TABLE meter ENABLE TRIGGER meter_rollups_sync');
  // pg_indexes writes a partitioned table's index as ON ONLY (no partition gets one): build it on all.
  if (trgm) await pool.query(trgm.replace(' ON ONLY ', ' ON '));
  await pool.query('VACUUM ANALYZE');
}
const copyS = (performance.now() - c0) / 1000;
log(`copy + index + analyze: ${copyS.toFixed(1)} s`);

// --------------------------------------------------------------------------------------- operations
const end = meta.end;
const hot = meta.endpoints
  .filter((e) => e.owner === 'acme')
  .sort((a, b) => b.weight - a.weight)[0].endpoint_id;
const endpoints = [{ id: hot, bare: hot.split('/').length === 2 }];
const reqParams = (after) => ({
  endpoints,
  startMs: end - 24 * HOUR,
  endMs: end,
  status: null,
  requestId: null,
  sortBy: 'ended_at',
  limit: 50,
  after,
  payloads: false,
  billing: false,
});
const filter = (over) => logFilterFixture(end - 24 * HOUR, end, { traceback: false, ...over });
const ref = sqliteReads(join(opt.home, 'hangar.db'));
const pgReads = createPostgresReads(pool, { warn: (m) => log(m) });

// Cursors of pages 2–21, taken from the reference.
const cursors = [];
for (let after = null, i = 0; i < 20; i++) {
  const page = await ref.requestsPage(reqParams(after));
  if (!page.next) break;
  cursors.push(page.next);
  after = page.next;
}
let ci = 0;
const OPS = [
  { name: 'requests_page', target: 20, run: (r) => r.requestsPage(reqParams(null)) },
  {
    name: 'requests_page_cursor',
    target: 20,
    run: (r) => r.requestsPage(reqParams(cursors[ci++ % cursors.length] ?? null)),
  },
  {
    name: 'analytics_30d_hourly',
    target: 100,
    run: (r) =>
      r.analyticsPage({
        endpoints,
        window: { startMs: end - 30 * 24 * HOUR, endMs: end, timeframe: 'hour', timezone: 'UTC' },
        fromMs: null,
        limit: 1000,
        metrics: [...ANALYTICS_METRICS],
        timeSeries: true,
        summary: true,
      }),
  },
  {
    name: 'usage_30d_daily',
    target: 50,
    run: (r) =>
      r.usagePage({
        owner: 'acme',
        apps: null,
        search: null,
        window: { startMs: meta.start, endMs: end, timeframe: 'day', timezone: 'UTC' },
        fromMs: null,
        limit: 100,
        timeSeries: true,
        summary: true,
        prices: {},
        percentDiscount: null,
        currency: 'USD',
      }),
  },
  {
    name: 'logs_search_24h',
    target: 50,
    run: (r) => r.logs.historyPage({ filter: filter({ search: 'out of memory' }), bounds: [], limit: 100 }),
  },
  {
    name: 'logs_search_30d',
    run: (r) =>
      r.logs.historyPage({
        filter: filter({ start: meta.start, search: 'out of memory' }),
        bounds: [],
        limit: 100,
      }),
  },
  {
    name: 'logs_search_rare_30d',
    run: (r) =>
      r.logs.historyPage({
        filter: filter({ start: meta.start, search: 'ECC error on GPU 7' }),
        bounds: [],
        limit: 100,
      }),
  },
  {
    name: 'logs_history_page',
    target: 20,
    run: (r) => r.logs.historyPage({ filter: filter({}), bounds: [], limit: 100 }),
  },
];

const pct = (s, p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
async function measure(op, reads) {
  for (let i = 0; i < 5; i++) await op.run(reads);
  const s = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await op.run(reads);
    s.push(performance.now() - t0);
  }
  s.sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95) };
}

const rows = [];
for (const op of OPS) {
  // Same answer from both, or the figures mean nothing.
  const ci0 = ci;
  const a = await op.run(ref);
  ci = ci0;
  const b = await op.run(pgReads);
  const same = JSON.stringify(a) === JSON.stringify(b);
  const lite = await measure(op, ref);
  const post = await measure(op, pgReads);
  rows.push({ op: op.name, target: op.target ?? null, same, lite, post });
  log(
    `${op.name}: sqlite p95 ${lite.p95.toFixed(2)} ms, postgres p95 ${post.p95.toFixed(2)} ms${same ? '' : ' (ANSWERS DIFFER)'}`,
  );
}

const f = (x) => x.toFixed(2);
console.log(
  `\nPlatform API reads, ${meta.counts.requests.toLocaleString('en-US')} requests / ${meta.counts.logs.toLocaleString('en-US')} log lines over ${meta.args.days} days, N=${N} sequential, in-process (no HTTP)`,
);
console.log(
  '| operation | target p95 (ms) | SQLite p50 / p95 (ms) | PostgreSQL p50 / p95 (ms) | p95 PG/SQLite | same answer |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.op} | ${r.target ?? '–'} | ${f(r.lite.p50)} / ${f(r.lite.p95)} | ${f(r.post.p50)} / ${f(r.post.p95)} | ${(r.post.p95 / r.lite.p95).toFixed(2)} | ${r.same ? 'yes' : 'NO'} |`,
  );
}
await pool.end();
sqlite.close();
await server?.close();
