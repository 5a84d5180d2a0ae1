#!/usr/bin/env node
// Log ingestion rate with the log search index kept in sync three ways, on the server's real schema:
//   trigger  the migration's AFTER INSERT trigger (what the server does today)
//   direct   no trigger; the writer inserts into logs_fts right after each logs row
//   batch    no trigger; one INSERT … SELECT into logs_fts per committed batch
// Batches of 2,000 lines per transaction, like the log sink. Prints lines/s and per-batch commit times
// (a batch commit runs on the server's main thread). `--db` starts each mode from a copy of that database
// (e.g. the seeded one) instead of an empty one.
//   node bench/api/fts-ingest.mjs [--lines 200000] [--dir DIR] [--db hangar.db]
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRandom, requestLogLine } from './seed-catalog.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { openDatabase } = await import(
  pathToFileURL(join(ROOT, 'packages/server/dist/store/sqlite/open.js')).href
);
const { values: opt } = parseArgs({
  options: { lines: { type: 'string', default: '200000' }, dir: { type: 'string' }, db: { type: 'string' } },
});
const LINES = Number(opt.lines);
const BATCH = 2000;
const INSERT = `INSERT INTO logs (id, ts, owner, app, revision, level, message, request_id, job_id, endpoint, source, labels)
  VALUES (?, ?, 'acme', 'app', 'rev', ?, ?, ?, 'job', 'acme/app', ?, '{"source":"stdout"}')`;

function run(mode) {
  const dir = mkdtempSync(join(opt.dir ?? tmpdir(), 'fts-ingest-'));
  if (opt.db) copyFileSync(opt.db, join(dir, 'hangar.db'));
  const db = openDatabase(join(dir, 'hangar.db'));
  if (mode !== 'trigger') db.exec('DROP TRIGGER logs_fts_insert');
  const base = db.prepare('SELECT coalesce(max(id), 0) FROM logs').pluck().get();
  const insert = db.prepare(INSERT);
  const fts = db.prepare('INSERT INTO logs_fts(rowid, message) VALUES (?, ?)');
  const catchUp = db.prepare(
    'INSERT INTO logs_fts(rowid, message) SELECT id, message FROM logs WHERE id > ?',
  );
  const r = createRandom(7);
  const lines = Array.from({ length: LINES }, (_, i) => {
    const rid = r.uuid();
    const [level, source, message] = requestLogLine('image', 200, rid, i, r);
    return [base + i + 1, 1_900_000_000_000 + i, level, message, rid, source];
  });
  const batches = [];
  const t0 = performance.now();
  for (let b = 0; b < LINES; b += BATCH) {
    const b0 = performance.now();
    db.transaction(() => {
      for (let i = b; i < Math.min(LINES, b + BATCH); i++) {
        insert.run(lines[i]);
        if (mode === 'direct') fts.run(lines[i][0], lines[i][3]);
      }
      if (mode === 'batch') catchUp.run(base + b);
    })();
    batches.push(performance.now() - b0);
  }
  const rate = LINES / ((performance.now() - t0) / 1000);
  const hits = db
    .prepare("SELECT count(*) FROM logs_fts WHERE message LIKE '%Completed request%'")
    .pluck()
    .get();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  batches.sort((x, y) => x - y);
  const ms = (q) =>
    Math.round(batches[Math.min(batches.length - 1, Math.floor(q * batches.length))] * 10) / 10;
  return {
    mode,
    lines_per_s: Math.round(rate),
    batch_ms: { p50: ms(0.5), p99: ms(0.99), max: ms(1) },
    search_hits: hits,
  };
}

for (const mode of ['trigger', 'direct', 'batch']) console.log(JSON.stringify(run(mode)));
