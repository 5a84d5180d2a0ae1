import { DAY_MS, HOUR_MS, MINUTE_MS, QuantileSketch, type RollupRow, type RollupSink } from '@hangar/core';
import {
  COUNT_COLUMNS,
  RequestRollup,
  type RollupInput,
  SKETCH_COLUMNS,
  zeroCounts,
} from '../../../telemetry/request-rollup.js';
import { ROLLUP_SPANS } from '../../reads-shared/tiers.js';
import { distinctEndpoints } from './endpoints.js';
import { inTransaction, num, one, rows, type SqlClient, type SqlPool } from './sql.js';

type SketchColumn = (typeof SKETCH_COLUMNS)[number];

/** One rollup cell being merged: counts plus sketches, keyed by (endpoint, span, start). */
class Cell {
  readonly counts = zeroCounts();
  readonly sketches: Partial<Record<SketchColumn, QuantileSketch>> = {};

  constructor(
    readonly endpointId: string,
    readonly span: number,
    readonly start: number,
  ) {}

  /** Adds a drained or stored row's counts and sketches. */
  absorb(row: Record<string, unknown>): void {
    for (const c of COUNT_COLUMNS) this.counts[c] += num(row[c]);
    for (const c of SKETCH_COLUMNS) {
      const buf = row[c] as Uint8Array | null | undefined;
      if (!buf || buf.length <= 2) continue;
      let s = this.sketches[c];
      if (!s) {
        s = new QuantileSketch();
        this.sketches[c] = s;
      }
      s.mergeEncoded(buf);
    }
  }

  encoded(c: SketchColumn): Buffer | null {
    const s = this.sketches[c];
    return s && s.count > 0 ? Buffer.from(s.encode()) : null;
  }
}

const keyOf = (endpointId: string, span: number, start: number) => `${endpointId}\u0000${span}\u0000${start}`;
const KEYS = 'unnest($1::text[], $2::bigint[], $3::bigint[]) AS k(endpoint_id, span, start)';
const ZERO_ROWS = `INSERT INTO request_rollups (endpoint_id, span, start, ${COUNT_COLUMNS.join(', ')})
  SELECT k.endpoint_id, k.span, k.start, ${COUNT_COLUMNS.map(() => '0').join(', ')} FROM ${KEYS}
  ON CONFLICT DO NOTHING`;
const LOCK_ROWS = `SELECT r.endpoint_id, r.span::float8 AS span, r.start::float8 AS start,
    ${[...COUNT_COLUMNS, ...SKETCH_COLUMNS].map((c) => `r.${c}`).join(', ')}
  FROM request_rollups r JOIN ${KEYS} ON r.endpoint_id = k.endpoint_id AND r.span = k.span AND r.start = k.start
  ORDER BY r.endpoint_id, r.span, r.start FOR UPDATE OF r`;
const WRITE_ROWS = `UPDATE request_rollups r SET
    ${COUNT_COLUMNS.map((c, i) => `${c} = v.c${i}`).join(', ')},
    ${SKETCH_COLUMNS.map((c, i) => `${c} = v.s${i}`).join(', ')}
  FROM unnest($1::text[], $2::bigint[], $3::bigint[],
    ${COUNT_COLUMNS.map((_, i) => `$${4 + i}::float8[]`).join(', ')},
    ${SKETCH_COLUMNS.map((_, i) => `$${4 + COUNT_COLUMNS.length + i}::bytea[]`).join(', ')})
    AS v(endpoint_id, span, start, ${COUNT_COLUMNS.map((_, i) => `c${i}`).join(', ')}, ${SKETCH_COLUMNS.map((_, i) => `s${i}`).join(', ')})
  WHERE r.endpoint_id = v.endpoint_id AND r.span = v.span AND r.start = v.start`;

/**
 * Adds cells to the stored ones in the caller's transaction. Missing rows are first inserted as zeros and
 * then every row is locked in key order, so nodes merging the same cells at once serialise on the row
 * locks (in one order, so without deadlocks) and no count or sketch is lost.
 */
export async function mergeCells(db: SqlClient, cells: Cell[]): Promise<void> {
  if (cells.length === 0) return;
  cells.sort((a, b) =>
    a.endpointId !== b.endpointId
      ? a.endpointId < b.endpointId
        ? -1
        : 1
      : a.span - b.span || a.start - b.start,
  );
  const keys = [cells.map((c) => c.endpointId), cells.map((c) => c.span), cells.map((c) => c.start)];
  await db.query(ZERO_ROWS, keys);
  const byKey = new Map(cells.map((c) => [keyOf(c.endpointId, c.span, c.start), c]));
  for (const row of await rows<Record<string, unknown>>(db, LOCK_ROWS, keys)) {
    byKey.get(keyOf(row.endpoint_id as string, num(row.span), num(row.start)))?.absorb(row);
  }
  await db.query(WRITE_ROWS, [
    ...keys,
    ...COUNT_COLUMNS.map((col) => cells.map((c) => c.counts[col])),
    ...SKETCH_COLUMNS.map((col) => cells.map((c) => c.encoded(col))),
  ]);
}

/** The minute, quarter-hour, hour and (unless `days` is false) UTC-day cells of drained minute rows. */
export function cellsOf(rowsIn: readonly RollupRow[], days = true): Cell[] {
  const cells = new Map<string, Cell>();
  for (const row of rowsIn) {
    for (const span of ROLLUP_SPANS) {
      if (span === DAY_MS && !days) continue;
      const start = span === MINUTE_MS ? row.minute : row.minute - (row.minute % span);
      const key = keyOf(row.endpoint_id, span, start);
      let cell = cells.get(key);
      if (!cell) {
        cell = new Cell(row.endpoint_id, span, start);
        cells.set(key, cell);
      }
      cell.absorb(row as unknown as Record<string, unknown>);
    }
  }
  return [...cells.values()];
}

const REBUILD_CHUNK_MS = 6 * HOUR_MS;
/** Advisory lock (namespace "HANG", key) serialising rebuilds of the rollups across nodes. */
const REBUILD_LOCK = [0x48414e47, 20] as const;
const SCAN = `SELECT endpoint_id AS "endpointId", ended_at::float8 AS "endedAt", status_code AS "statusCode", prepare_ms::float8 AS "prepareMs",
    duration_ms::float8 AS "durationMs", cold_start AS "coldStart", cold_boot_ms::float8 AS "coldBootMs",
    error_class AS "errorClass"
  FROM requests WHERE endpoint_id = $1 AND ended_at >= $2 AND ended_at < $3`;
const HOURS_OF_DAY = `SELECT ${[...COUNT_COLUMNS, ...SKETCH_COLUMNS].join(', ')} FROM request_rollups
  WHERE endpoint_id = $1 AND span = ${HOUR_MS} AND start >= $2 AND start < $3`;
const DAYS_OUT_OF_STEP = `SELECT h.endpoint_id AS "endpointId", h.day::float8 AS day
  FROM (SELECT endpoint_id, start - start % ${DAY_MS} AS day, sum(request_count) AS n
        FROM request_rollups WHERE span = ${HOUR_MS} GROUP BY endpoint_id, day) h
  LEFT JOIN request_rollups d ON d.endpoint_id = h.endpoint_id AND d.span = ${DAY_MS} AND d.start = h.day
  WHERE d.request_count IS DISTINCT FROM h.n`;

/** Recomputes one UTC-day rollup from its hour rows (removing it when the day has none). */
async function rebuildDay(db: SqlClient, endpointId: string, day: number): Promise<void> {
  const cell = new Cell(endpointId, DAY_MS, day);
  for (const row of await rows<Record<string, unknown>>(db, HOURS_OF_DAY, [endpointId, day, day + DAY_MS]))
    cell.absorb(row);
  await db.query(`DELETE FROM request_rollups WHERE endpoint_id = $1 AND span = ${DAY_MS} AND start = $2`, [
    endpointId,
    day,
  ]);
  if (cell.counts.request_count > 0) await mergeCells(db, [cell]);
}

/** Recomputes the rollups of one endpoint for requests that ended in [from, to) (whole UTC hours). */
async function rebuildEndpoint(db: SqlClient, endpointId: string, from: number, to: number): Promise<number> {
  await db.query(
    `DELETE FROM request_rollups WHERE endpoint_id = $1 AND span < ${DAY_MS} AND start >= $2 AND start < $3`,
    [endpointId, from, to],
  );
  let folded = 0;
  for (let t = from; t < to; t += REBUILD_CHUNK_MS) {
    const rollup = new RequestRollup();
    for (const rec of await rows<RollupInput>(db, SCAN, [
      endpointId,
      t,
      Math.min(t + REBUILD_CHUNK_MS, to),
    ])) {
      rollup.observe({ ...rec, coldStart: Boolean(rec.coldStart) });
      folded++;
    }
    await mergeCells(db, cellsOf(rollup.drain(), false));
  }
  for (let day = from - (from % DAY_MS); day < to; day += DAY_MS) await rebuildDay(db, endpointId, day);
  return folded;
}

/**
 * The analytics rollup sink on PostgreSQL. `record` merges in the background, one transaction per call,
 * in call order; `flush` waits for what was recorded so far. Failures go to `onError` (rows are then lost
 * from the rollups until `rebuildRecent` recomputes them from the requests table).
 */
export function createPostgresRollupSink(
  pool: SqlPool,
  onError: (err: unknown) => void,
): RollupSink & { flush(): Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  return {
    record(rowsIn) {
      if (rowsIn.length === 0) return;
      const cells = cellsOf(rowsIn);
      chain = chain.then(() => inTransaction(pool, (db) => mergeCells(db, cells))).catch(onError);
    },
    async rebuildRecent(windowMs) {
      await chain;
      return inTransaction(pool, async (db) => {
        await db.query('SELECT pg_advisory_xact_lock($1, $2)', [...REBUILD_LOCK]);
        const last = await one<{ t: number | null }>(db, 'SELECT max(ended_at)::float8 AS t FROM requests');
        let folded = 0;
        if (last?.t != null) {
          const fromMs = num(last.t) - windowMs;
          const from = fromMs - (((fromMs % HOUR_MS) + HOUR_MS) % HOUR_MS);
          const to = Math.ceil((num(last.t) + 1) / HOUR_MS) * HOUR_MS;
          const endpoints = new Set([
            ...(await distinctEndpoints(db, 'requests')),
            ...(await distinctEndpoints(db, 'request_rollups')),
          ]);
          for (const id of endpoints) folded += await rebuildEndpoint(db, id, from, to);
        }
        for (const d of await rows<{ endpointId: string; day: number }>(db, DAYS_OUT_OF_STEP))
          await rebuildDay(db, d.endpointId, num(d.day));
        return folded;
      });
    },
    flush: () => chain,
  };
}

/**
 * Recomputes from the requests table the rollups of every endpoint for requests that ended in
 * [`from`, `to`) (whole UTC hours), then every UTC-day cell out of step with its hours. Cells in the range
 * are replaced: call it only for hours no node still drains into (the leader does, for a dead node's last
 * hour, once the live nodes have surely drained it). Serialised with `rebuildRecent` by the same lock.
 */
export async function rebuildRollupHours(pool: SqlPool, from: number, to: number): Promise<number> {
  return inTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock($1, $2)', [...REBUILD_LOCK]);
    const endpoints = new Set([
      ...(await distinctEndpoints(db, 'requests')),
      ...(await distinctEndpoints(db, 'request_rollups')),
    ]);
    let folded = 0;
    for (const id of endpoints) folded += await rebuildEndpoint(db, id, from, to);
    for (const d of await rows<{ endpointId: string; day: number }>(db, DAYS_OUT_OF_STEP))
      await rebuildDay(db, d.endpointId, num(d.day));
    return folded;
  });
}
