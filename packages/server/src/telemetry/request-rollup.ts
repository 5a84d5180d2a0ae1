import { DAY_MS, HOUR_MS, MINUTE_MS, QuantileSketch, type RequestRecord } from '@hangar/core';
import type Database from 'better-sqlite3';
import { distinctEndpoints, prepared } from '../query/statements.js';
import { ROLLUP_SPANS } from '../query/tiers.js';

/** The fields of a completed request that its rollup needs (a `RequestRecord` fits). */
export type RollupInput = Pick<
  RequestRecord,
  | 'endpointId'
  | 'endedAt'
  | 'statusCode'
  | 'prepareMs'
  | 'durationMs'
  | 'coldStart'
  | 'coldBootMs'
  | 'errorClass'
>;

/** Counts of one rollup cell, named like the `request_rollups` columns. */
export interface RollupCounts {
  request_count: number;
  success_count: number;
  user_error_count: number;
  error_count: number;
  startup_error_count: number;
  connection_error_count: number;
  timeout_error_count: number;
  runtime_error_count: number;
  cold_boot_count: number;
  duration_sum_ms: number;
}

/** The count columns, in table order. */
export const COUNT_COLUMNS = [
  'request_count',
  'success_count',
  'user_error_count',
  'error_count',
  'startup_error_count',
  'connection_error_count',
  'timeout_error_count',
  'runtime_error_count',
  'cold_boot_count',
  'duration_sum_ms',
] as const satisfies readonly (keyof RollupCounts)[];

/** A cell with every count at zero. */
export function zeroCounts(): RollupCounts {
  return {
    request_count: 0,
    success_count: 0,
    user_error_count: 0,
    error_count: 0,
    startup_error_count: 0,
    connection_error_count: 0,
    timeout_error_count: 0,
    runtime_error_count: 0,
    cold_boot_count: 0,
    duration_sum_ms: 0,
  };
}

/** The sketch columns (milliseconds), in table order. */
export const SKETCH_COLUMNS = ['prepare_sketch', 'duration_sketch', 'cold_boot_sketch'] as const;
type SketchColumn = (typeof SKETCH_COLUMNS)[number];

/** One (endpoint, UTC minute) rollup, ready to upsert. */
export interface RollupRow extends RollupCounts {
  endpoint_id: string;
  /** Epoch ms of the UTC minute start. */
  minute: number;
  prepare_sketch: Buffer | null;
  duration_sketch: Buffer | null;
  cold_boot_sketch: Buffer | null;
}

/** A request is a cold boot (fal: "startup time > 1 second") when it started a runner that took over 1 s. */
export const COLD_BOOT_THRESHOLD_MS = 1000;

/** Mutable accumulation of one cell: counts plus sketches, created on first use (also by the PostgreSQL rollup writer). */
export class Cell {
  readonly counts: RollupCounts = zeroCounts();
  readonly sketches: Partial<Record<SketchColumn, QuantileSketch>> = {};

  sketch(col: SketchColumn): QuantileSketch {
    let s = this.sketches[col];
    if (!s) {
      s = new QuantileSketch();
      this.sketches[col] = s;
    }
    return s;
  }

  observe(rec: RollupInput): void {
    const c = this.counts;
    c.request_count++;
    const code = rec.statusCode ?? 0;
    if (code >= 200 && code < 300) c.success_count++;
    else if (code >= 400 && code < 500) c.user_error_count++;
    else if (code >= 500 && code < 600) c.error_count++;
    // fal's analytics has no start-timeout column: a start deadline that passed counts as a timeout.
    if (rec.errorClass) c[`${rec.errorClass === 'start_timeout' ? 'timeout' : rec.errorClass}_error_count`]++;
    if (rec.prepareMs !== null) this.sketch('prepare_sketch').add(rec.prepareMs);
    if (rec.durationMs !== null) {
      this.sketch('duration_sketch').add(rec.durationMs);
      c.duration_sum_ms += rec.durationMs;
    }
    if (rec.coldStart && rec.coldBootMs !== null && rec.coldBootMs > COLD_BOOT_THRESHOLD_MS) {
      c.cold_boot_count++;
      this.sketch('cold_boot_sketch').add(rec.coldBootMs);
    }
  }

  /** Adds a stored or drained row's counts and sketches. */
  absorb(row: RollupCounts & Partial<Record<SketchColumn, Uint8Array | null>>): void {
    for (const col of COUNT_COLUMNS) this.counts[col] += row[col];
    for (const col of SKETCH_COLUMNS) {
      const buf = row[col];
      if (buf && buf.length > 2) this.sketch(col).mergeEncoded(buf);
    }
  }

  encoded(col: SketchColumn): Buffer | null {
    const s = this.sketches[col];
    return s && s.count > 0 ? s.encode() : null;
  }
}

/**
 * Per (endpoint, minute) rollups of completed requests, kept in memory until `drain`; the store's batched
 * writer passes drained rows to `upsertRollupRows`, which merges them into what is already stored.
 */
export class RequestRollup {
  private cells = new Map<string, { endpointId: string; minute: number; cell: Cell }>();

  /** Folds a completed request into its minute (the minute it ended); unfinished requests are ignored. */
  observe(rec: RollupInput): void {
    if (rec.endedAt === null) return;
    const minute = rec.endedAt - (rec.endedAt % MINUTE_MS);
    const key = `${rec.endpointId}\u0000${minute}`;
    let entry = this.cells.get(key);
    if (!entry) {
      entry = { endpointId: rec.endpointId, minute, cell: new Cell() };
      this.cells.set(key, entry);
    }
    entry.cell.observe(rec);
  }

  /** Cells observed since the last drain. */
  get pending(): number {
    return this.cells.size;
  }

  /** Returns every accumulated cell as a row and forgets them. */
  drain(): RollupRow[] {
    const rows: RollupRow[] = [];
    for (const { endpointId, minute, cell } of this.cells.values()) {
      rows.push({
        endpoint_id: endpointId,
        minute,
        ...cell.counts,
        prepare_sketch: cell.encoded('prepare_sketch'),
        duration_sketch: cell.encoded('duration_sketch'),
        cold_boot_sketch: cell.encoded('cold_boot_sketch'),
      });
    }
    this.cells.clear();
    return rows;
  }
}

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
