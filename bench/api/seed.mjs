#!/usr/bin/env node
// Seeds a fresh HANGAR_HOME database for the Platform API benchmark: 3 owners with keys, 20 apps with
// revisions and routes, and 30 days of completed requests, log lines, meter rows, runner samples and
// events, written chronologically (ids grow with time, as the live server writes them). Runs against the
// compiled server (`npm run build`). Writes <home>/hangar.db and <home>/bench-seed.json (keys, window).
//
//   node bench/api/seed.mjs --home DIR [--days 30] [--requests 1000000] [--logs 5000000]
//        [--seed 1] [--sample-interval-ms 5000] [--end EPOCH_MS] [--fts trigger|bulk]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createKeys } from './seed-keys.mjs';
import { createWorld } from './seed-world.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'packages/server/dist');
const MINUTE = 60_000;

const { values: opt } = parseArgs({
  options: {
    home: { type: 'string' },
    days: { type: 'string', default: '30' },
    requests: { type: 'string', default: '1000000' },
    logs: { type: 'string', default: '5000000' },
    seed: { type: 'string', default: '1' },
    'sample-interval-ms': { type: 'string', default: '5000' },
    end: { type: 'string' },
    fts: { type: 'string', default: 'trigger' },
  },
});
if (!opt.home) {
  console.error('usage: node bench/api/seed.mjs --home DIR [--days 30] [--requests N] [--logs N] [--seed N]');
  process.exit(2);
}
if (!existsSync(join(DIST, 'store/sqlite/open.js'))) {
  console.error('packages/server/dist is missing: run `npm run build` first');
  process.exit(1);
}
const { openDatabase } = await import(pathToFileURL(join(DIST, 'store/sqlite/open.js')).href);
const { MIGRATIONS } = await import(pathToFileURL(join(DIST, 'store/sqlite/schema.js')).href);

const home = resolve(opt.home);
const dbPath = join(home, 'hangar.db');
if (existsSync(dbPath)) {
  console.error(`${dbPath} exists: the seeder only fills a fresh home`);
  process.exit(1);
}
mkdirSync(home, { recursive: true });

const days = Number(opt.days);
const end = opt.end ? Number(opt.end) : Math.floor(Date.now() / MINUTE) * MINUTE;
const start = end - days * 24 * 60 * MINUTE;
const params = {
  start,
  end,
  requests: Number(opt.requests),
  logs: Number(opt.logs),
  seed: Number(opt.seed),
  sampleIntervalMs: Number(opt['sample-interval-ms']),
  home,
};

const db = openDatabase(dbPath);
// Seeding only: a crash leaves a half-seeded file the run script discards anyway.
db.pragma('synchronous = OFF');
db.pragma('cache_size = -1000000');
db.pragma('temp_store = MEMORY');

const SQL = {
  owner: 'INSERT INTO owners (name, created_at) VALUES (?, ?)',
  key: `INSERT INTO api_keys (key_id, owner, scope, name, secret_hash, created_at, revoked_at)
        VALUES (?, ?, ?, ?, ?, ?, NULL)`,
  app: `INSERT INTO apps (owner, name, current_revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
  revision: `INSERT INTO revisions (revision_id, owner, app, created_at, message, annotations, status,
             deployed_by, manifest, dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  request: `INSERT INTO requests (request_id, owner, app, endpoint_id, caller_key_id, method, mode, status,
            cancelled, priority, sent_at, started_at, ended_at, status_code, prepare_ms, duration_ms, runner_id,
            cold_start, cold_boot_ms, billable_units, error_class, attempts, store_io, json_input, json_output)
            VALUES (?, ?, ?, ?, ?, 'POST', ?, 'COMPLETED', ?, 'normal', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
  log: `INSERT INTO logs (id, ts, owner, app, revision, level, message, request_id, job_id, endpoint, source, labels)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  meter: `INSERT INTO meter (runner_id, minute, owner, app, environment, machine_type, is_surge, seconds)
          VALUES (?, ?, ?, ?, 'main', ?, ?, ?)`,
  sample: `INSERT INTO runner_samples (ts, owner, app, pending, setup, idle, running, draining)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
  event: 'INSERT INTO events (event_id, owner, app, category, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)',
};
const stmt = Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)]));
const counts = { requests: 0, logs: 0, meter: 0, samples: 0, events: 0 };
const sink = {
  request: (row) => {
    stmt.request.run(row);
    counts.requests++;
  },
  log: (row) => {
    stmt.log.run(row);
    counts.logs++;
  },
  meter: (row) => {
    stmt.meter.run(row);
    counts.meter++;
  },
  sample: (row) => {
    stmt.sample.run(row);
    counts.samples++;
  },
  event: (row) => {
    stmt.event.run(row);
    counts.events++;
  },
};

// The log store fills the search index per write batch (no trigger since schema 4): the seeder rebuilds it
// once at the end. On an older schema, `--fts bulk` drops the insert trigger while seeding and restores it.
const ftsTrigger = db
  .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'logs_fts_insert'")
  .pluck()
  .get();
if (opt.fts === 'bulk' && ftsTrigger) db.exec('DROP TRIGGER logs_fts_insert');

const t0 = performance.now();
const keys = createKeys(params.seed, start);
const world = createWorld(params, sink, keys);
db.transaction(() => {
  for (const o of keys.owners) stmt.owner.run(o, start - 60 * 24 * 60 * MINUTE);
  for (const k of keys.rows) stmt.key.run(k);
  for (const r of world.revisionRows) stmt.revision.run(r);
  for (const a of world.appRows) stmt.app.run(a);
})();

let last = { t: t0, requests: 0, logs: 0 };
const fmt = (n) => Math.round(n).toLocaleString('en-US');
function progress(day, final = false) {
  const now = performance.now();
  if (!final && now - last.t < 2000) return;
  const dt = (now - last.t) / 1000;
  const rate = (k) => fmt((counts[k] - last[k]) / dt);
  console.error(
    `day ${day}/${days}  requests ${fmt(counts.requests)} (${rate('requests')}/s)  logs ${fmt(counts.logs)} ` +
      `(${rate('logs')}/s)  meter ${fmt(counts.meter)}  samples ${fmt(counts.samples)}  ` +
      `${((now - t0) / 1000).toFixed(1)} s`,
  );
  last = { t: now, requests: counts.requests, logs: counts.logs };
}

const minutesPerDay = 24 * 60;
const totalMinutes = days * minutesPerDay;
for (let d = 0; d < days; d++) {
  db.transaction(() => {
    for (let m = d * minutesPerDay; m < (d + 1) * minutesPerDay; m++) {
      world.minute(m, m === totalMinutes - 1);
      if ((m & 63) === 0) progress(d + 1);
    }
  })();
}
progress(days, true);
let ftsRebuildMs = null;
if (!ftsTrigger || opt.fts === 'bulk') {
  const f0 = performance.now();
  db.exec("INSERT INTO logs_fts(logs_fts) VALUES ('rebuild')");
  if (ftsTrigger) db.exec(ftsTrigger);
  ftsRebuildMs = Math.round(performance.now() - f0);
  console.error(`FTS rebuild: ${(ftsRebuildMs / 1000).toFixed(1)} s`);
}
const seedMs = performance.now() - t0;

const timings = {
  seed_ms: Math.round(seedMs),
  fts_mode: opt.fts,
  fts_rebuild_ms: ftsRebuildMs,
  rollups_ms: null,
  checkpoint_ms: null,
};
const rollupPath = join(DIST, 'store/sqlite/rollups.js');
if (existsSync(rollupPath)) {
  const mod = await import(pathToFileURL(rollupPath).href);
  if (typeof mod.rebuildRollups === 'function') {
    const r0 = performance.now();
    await mod.rebuildRollups(db, start, end);
    timings.rollups_ms = Math.round(performance.now() - r0);
    console.error(`rebuildRollups: ${(timings.rollups_ms / 1000).toFixed(1)} s`);
  }
}
const c0 = performance.now();
db.pragma('synchronous = NORMAL');
db.pragma('wal_checkpoint(TRUNCATE)');
timings.checkpoint_ms = Math.round(performance.now() - c0);
db.close();

const meta = {
  seed_version: 1,
  schema_version: MIGRATIONS.length,
  created_at: new Date().toISOString(),
  start,
  end,
  args: {
    days,
    requests: params.requests,
    logs: params.logs,
    seed: params.seed,
    sample_interval_ms: params.sampleIntervalMs,
    fts: opt.fts,
  },
  counts,
  timings,
  owners: keys.byOwner,
  endpoints: world.endpoints,
};
writeFileSync(join(home, 'bench-seed.json'), `${JSON.stringify(meta, null, 2)}\n`);
const secs = (timings.seed_ms / 1000).toFixed(1);
console.error(
  `seeded ${fmt(counts.requests)} requests, ${fmt(counts.logs)} log lines, ${fmt(counts.meter)} meter rows, ` +
    `${fmt(counts.samples)} runner samples, ${fmt(counts.events)} events in ${secs} s ` +
    `(${fmt((counts.requests + counts.logs + counts.meter + counts.samples + counts.events) / (seedMs / 1000))} rows/s)`,
);
