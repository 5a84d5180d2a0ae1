#!/usr/bin/env node
// Times the logs `search` query in-process (no HTTP, no worker pool): the compiled `logsHistory` on a
// read-only connection to a seeded database, first page of 100 lines as the history route asks for it
// (owner acme, traceback lines hidden). Prints median and p95 per case over `--runs` runs after one warm-up.
// `--queries` loads another compiled queries.js (e.g. an older build) to compare on the same database.
//   node bench/api/search-direct.mjs --db <home>/hangar.db [--runs 30] [--owner acme] [--queries FILE]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'packages/server/dist');
const { values: opt } = parseArgs({
  options: {
    db: { type: 'string' },
    runs: { type: 'string', default: '30' },
    owner: { type: 'string', default: 'acme' },
    queries: { type: 'string' },
  },
});
if (!opt.db) {
  console.error('usage: node bench/api/search-direct.mjs --db <home>/hangar.db [--runs 30] [--queries FILE]');
  process.exit(2);
}
const queriesFile = resolve(opt.queries ?? join(DIST, 'store/sqlite/reads/logs.js'));
if (!existsSync(queriesFile)) {
  console.error(`${queriesFile} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const { logsHistory } = await import(pathToFileURL(queriesFile).href);
const { openReadOnly } = await import(pathToFileURL(join(DIST, 'store/sqlite/open.js')).href);

const DAY = 24 * 3_600_000;
const db = openReadOnly(resolve(opt.db));
const metaFile = join(dirname(resolve(opt.db)), 'bench-seed.json');
const end = existsSync(metaFile)
  ? JSON.parse(readFileSync(metaFile, 'utf8')).end
  : db.prepare('SELECT max(ts) + 1 AS e FROM logs').get().e;

const filter = (search, days) => ({
  owner: opt.owner,
  start: end - days * DAY,
  end,
  apps: null,
  revision: null,
  runSource: null,
  traceback: false,
  search,
  levels: null,
  jobId: null,
  requestId: null,
  labels: [],
});
// [needle, window in days, page (following the cursor from the first page)]
const CASES = [
  ['out of memory', 1, 1],
  ['out of memory', 30, 1],
  ['out of memory', 30, 10],
  ['ECC error on GPU 7', 30, 1],
  ['Completed request', 1, 1],
  ['Completed request', 30, 1],
  ['Completed request', 30, 10],
  ['zzzz-nothing', 30, 1],
];

const runs = Number(opt.runs);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
console.log(`queries: ${queriesFile}\ndb: ${resolve(opt.db)}  owner ${opt.owner}  runs ${runs}\n`);
/** The params of the given page of a search (the cursor is the last row of the page before). */
function pageParams(search, days, page) {
  const p = { filter: filter(search, days), before: null, limit: 100 };
  for (let i = 1; i < page; i++) {
    const last = logsHistory(db, p).slice(0, p.limit).at(-1);
    if (!last) break;
    p.before = { ts: last.ts, id: last.id };
  }
  return p;
}

console.log('| search | window | page | rows | median ms | p95 ms |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [search, days, page] of CASES) {
  const p = pageParams(search, days, page);
  const rows = logsHistory(db, p).length;
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    logsHistory(db, p);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const row = [
    `"${search}"`,
    `${days} d`,
    page,
    Math.min(rows, 100),
    pct(times, 50).toFixed(1),
    pct(times, 95).toFixed(1),
  ];
  console.log(`| ${row.join(' | ')} |`);
}
db.close();
