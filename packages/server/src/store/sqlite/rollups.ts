import { DAY_MS, HOUR_MS, MINUTE_MS, type RollupRow, type RollupSink } from '@hangar/core';
import type Database from 'better-sqlite3';
import {
  Cell,
  COUNT_COLUMNS,
  RequestRollup,
  type RollupInput,
  SKETCH_COLUMNS,
} from '../../telemetry/request-rollup.js';
import { ROLLUP_SPANS } from '../reads-shared/tiers.js';
import { distinctEndpoints, prepared } from './reads/statements.js';
import type { SqliteWriter } from './writer.js';

const ALL_COLUMNS = [...COUNT_COLUMNS, ...SKETCH_COLUMNS];
const SELECT_CELL = `SELECT ${ALL_COLUMNS.join(', ')} FROM request_rollups WHERE endpoint_id = ? AND span = ? AND start = ?`;
const WRITE_CELL = `INSERT OR REPLACE INTO request_rollups (endpoint_id, span, start, ${ALL_COLUMNS.join(', ')})
  VALUES (${['?', '?', '?', ...ALL_COLUMNS.map(() => '?')].join(', ')})`;

function mergeCell(db: Database.Database, endpointId: string, span: number, start: number, add: Cell): void {
  const existing = prepared(db, SELECT_CELL).get(endpointId, span, start) as
    | Parameters<Cell['absorb']>[0]
    | undefined;
  if (existing) add.absorb(existing);
  const values = [...COUNT_COLUMNS.map((c) => add.counts[c]), ...SKETCH_COLUMNS.map((c) => add.encoded(c))];
  prepared(db, WRITE_CELL).run(endpointId, span, start, ...values);
}

/**
 * Merges drained rows into the minute, quarter-hour, hour and UTC-day rollups (read-merge-write, in one transaction —
 * a savepoint when the caller's batch already holds one), so a late row for a stored minute adds to it.
 */
export function upsertRollupRows(db: Database.Database, rows: readonly RollupRow[], days = true): void {
  if (rows.length === 0) return;
  db.transaction(() => {
    const coarse = new Map<string, { endpointId: string; span: number; start: number; cell: Cell }>();
    for (const row of rows) {
      const minuteCell = new Cell();
      minuteCell.absorb(row);
      mergeCell(db, row.endpoint_id, MINUTE_MS, row.minute, minuteCell);
      for (const span of ROLLUP_SPANS) {
        if (span === MINUTE_MS || (span === DAY_MS && !days)) continue;
        const start = row.minute - (row.minute % span);
        const key = `${row.endpoint_id}\u0000${span}\u0000${start}`;
        let entry = coarse.get(key);
        if (!entry) {
          entry = { endpointId: row.endpoint_id, span, start, cell: new Cell() };
          coarse.set(key, entry);
        }
        entry.cell.absorb(row);
      }
    }
    for (const { endpointId, span, start, cell } of coarse.values())
      mergeCell(db, endpointId, span, start, cell);
  })();
}

const REBUILD_CHUNK_MS = 6 * HOUR_MS;

/**
 * Recomputes the rollups of `[fromMs, toMs)` (widened to whole UTC hours) from the requests table,
 * replacing what was stored: for start-up after a crash and for seeded databases. The UTC days touched are
 * then recomputed from their hour rows. Returns the number of requests folded.
 */
export function rebuildRollups(db: Database.Database, fromMs: number, toMs: number): number {
  const from = fromMs - (((fromMs % HOUR_MS) + HOUR_MS) % HOUR_MS);
  const to = Math.ceil(toMs / HOUR_MS) * HOUR_MS;
  const endpoints = new Set([
    ...distinctEndpoints(db, 'requests'),
    ...distinctEndpoints(db, 'request_rollups'),
  ]);
  const del = prepared(
    db,
    `DELETE FROM request_rollups WHERE endpoint_id = ? AND span < ${DAY_MS} AND start >= ? AND start < ?`,
  );
  const scan = prepared(
    db,
    `SELECT endpoint_id AS endpointId, ended_at AS endedAt, status_code AS statusCode, prepare_ms AS prepareMs,
       duration_ms AS durationMs, cold_start AS coldStart, cold_boot_ms AS coldBootMs, error_class AS errorClass
     FROM requests WHERE endpoint_id = ? AND ended_at >= ? AND ended_at < ?`,
  );
  let folded = 0;
  db.transaction(() => {
    for (const endpointId of endpoints) {
      del.run(endpointId, from, to);
      for (let t = from; t < to; t += REBUILD_CHUNK_MS) {
        const rollup = new RequestRollup();
        for (const rec of scan.all(endpointId, t, Math.min(t + REBUILD_CHUNK_MS, to)) as RollupInput[]) {
          rollup.observe(rec);
          folded++;
        }
        upsertRollupRows(db, rollup.drain(), false);
      }
      for (let day = from - (from % DAY_MS); day < to; day += DAY_MS) rebuildDay(db, endpointId, day);
    }
  })();
  return folded;
}

const DAYS_OUT_OF_STEP = `SELECT h.endpoint_id AS endpointId, h.day AS day
  FROM (SELECT endpoint_id, start - start % ${DAY_MS} AS day, sum(request_count) AS n
        FROM request_rollups WHERE span = ${HOUR_MS} GROUP BY endpoint_id, day) h
  LEFT JOIN request_rollups d ON d.endpoint_id = h.endpoint_id AND d.span = ${DAY_MS} AND d.start = h.day
  WHERE d.request_count IS NOT h.n`;
const DELETE_DAY = `DELETE FROM request_rollups WHERE endpoint_id = ? AND span = ${DAY_MS} AND start = ?`;
const HOURS_OF_DAY = `SELECT ${ALL_COLUMNS.join(', ')} FROM request_rollups
  WHERE endpoint_id = ? AND span = ${HOUR_MS} AND start >= ? AND start < ?`;

/** Recomputes one UTC-day rollup from its hour rows (removing it when the day has none). */
function rebuildDay(db: Database.Database, endpointId: string, day: number): void {
  const cell = new Cell();
  for (const row of prepared(db, HOURS_OF_DAY).all(endpointId, day, day + DAY_MS) as Parameters<
    Cell['absorb']
  >[0][])
    cell.absorb(row);
  if (cell.counts.request_count === 0) {
    prepared(db, DELETE_DAY).run(endpointId, day);
    return;
  }
  const values = [...COUNT_COLUMNS.map((c) => cell.counts[c]), ...SKETCH_COLUMNS.map((c) => cell.encoded(c))];
  prepared(db, WRITE_CELL).run(endpointId, DAY_MS, day, ...values);
}

/**
 * Rebuilds every UTC-day rollup whose request count differs from the sum of its hour rows. Databases
 * written before day rollups existed get theirs at start-up; afterwards it finds nothing. Returns the
 * number of day rows rebuilt.
 */
export function reconcileDayRollups(db: Database.Database): number {
  const days = prepared(db, DAYS_OUT_OF_STEP).all() as { endpointId: string; day: number }[];
  db.transaction(() => {
    for (const { endpointId, day } of days) rebuildDay(db, endpointId, day);
  })();
  return days.length;
}

/** Analytics rollups written through the stores' batched writer. */
export function createSqliteRollups(db: Database.Database, writer: SqliteWriter): RollupSink {
  const upsert = {
    run: (params: unknown[]) => {
      const rows = params[0] as RollupRow[];
      upsertRollupRows(db, rows);
      return { changes: rows.length };
    },
  };
  return {
    record(rows) {
      if (rows.length > 0) writer.enqueue(upsert, [rows]);
    },
    async rebuildRecent(windowMs) {
      await writer.flush();
      const last = (db.prepare('SELECT MAX(ended_at) AS t FROM requests').get() as { t: number | null }).t;
      const folded = last === null ? 0 : rebuildRollups(db, last - windowMs, last + 1);
      reconcileDayRollups(db);
      return folded;
    },
  };
}
