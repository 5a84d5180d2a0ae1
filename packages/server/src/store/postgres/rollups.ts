import { MINUTE_MS } from '@hangar/core';
import type pg from 'pg';
import { Cell, COUNT_COLUMNS, type RollupRow, SKETCH_COLUMNS } from '../../telemetry/request-rollup.js';
import { ROLLUP_SPANS } from '../reads-shared/tiers.js';
import { columns } from './request-writes.js';
import type { PgWriter, WriteKind } from './writer.js';

const ALL = [...COUNT_COLUMNS, ...SKETCH_COLUMNS];

interface Target {
  endpointId: string;
  span: number;
  start: number;
  cell: Cell;
}

/**
 * Drained per-minute rollup rows merged into the minute, quarter-hour, hour and UTC-day cells of
 * `request_rollups`, as SQLite's `upsertRollupRows` does, safely with several nodes merging at once: the
 * cells are created if missing, locked in key order (`FOR UPDATE`), merged here (sketches are merged by
 * the code that encodes them) and written back, all in the writer's transaction.
 */
const rollupKind: WriteKind<RollupRow[]> = {
  name: 'request_rollups',
  rank: 2,
  async run(client, batches) {
    const targets = new Map<string, Target>();
    for (const row of batches.flat()) {
      for (const span of ROLLUP_SPANS) {
        const start = span === MINUTE_MS ? row.minute : row.minute - (row.minute % span);
        const key = `${row.endpoint_id}\u0000${span}\u0000${start}`;
        let t = targets.get(key);
        if (!t) {
          t = { endpointId: row.endpoint_id, span, start, cell: new Cell() };
          targets.set(key, t);
        }
        t.cell.absorb(row);
      }
    }
    const list = [...targets.values()].sort((a, b) =>
      a.endpointId < b.endpointId
        ? -1
        : a.endpointId > b.endpointId
          ? 1
          : a.span - b.span || a.start - b.start,
    );
    if (list.length === 0) return;
    await mergeTargets(client, list);
  },
};

async function mergeTargets(client: pg.PoolClient, list: Target[]): Promise<void> {
  const keys = [list.map((t) => t.endpointId), list.map((t) => t.span), list.map((t) => t.start)];
  await client.query(
    `INSERT INTO request_rollups (endpoint_id, span, start, ${COUNT_COLUMNS.join(', ')})
     SELECT e, s, t, ${COUNT_COLUMNS.map(() => '0').join(', ')} FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS k(e, s, t)
     ON CONFLICT DO NOTHING`,
    keys,
  );
  const stored = await client.query(
    `SELECT r.* FROM request_rollups r JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS k(e, s, t)
       ON r.endpoint_id = k.e AND r.span = k.s AND r.start = k.t
     ORDER BY r.endpoint_id, r.span, r.start FOR UPDATE OF r`,
    keys,
  );
  const byKey = new Map(list.map((t) => [`${t.endpointId}\u0000${t.span}\u0000${t.start}`, t]));
  for (const row of stored.rows as Record<string, unknown>[]) {
    const t = byKey.get(`${row.endpoint_id}\u0000${row.span}\u0000${row.start}`);
    t?.cell.absorb(row as unknown as Parameters<Cell['absorb']>[0]);
  }
  const rows = list.map((t) => [
    t.endpointId,
    t.span,
    t.start,
    ...COUNT_COLUMNS.map((c) => t.cell.counts[c]),
    ...SKETCH_COLUMNS.map((c) => t.cell.encoded(c)),
  ]);
  const types = [
    'text',
    'bigint',
    'bigint',
    ...COUNT_COLUMNS.map((c) => (c === 'duration_sum_ms' ? 'float8' : 'bigint')),
    ...SKETCH_COLUMNS.map(() => 'bytea'),
  ];
  await client.query(
    `UPDATE request_rollups r SET ${ALL.map((c) => `${c} = v.${c}`).join(', ')}
     FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS v(endpoint_id, span, start, ${ALL.join(', ')})
     WHERE r.endpoint_id = v.endpoint_id AND r.span = v.span AND r.start = v.start`,
    columns(rows, types.length),
  );
}

/** The analytics rollup sink of the PostgreSQL stores (the same shape as SQLite's). */
export interface PostgresRollupSink {
  record(rows: RollupRow[]): void;
  /** SQLite recomputes recent rollups from its requests at start; on PostgreSQL drains are committed by the writer's retries instead. */
  rebuildRecent(windowMs: number): Promise<number>;
}

/** Creates the rollup sink writing through the node's writer. */
export function createPostgresRollupSink(writer: PgWriter): PostgresRollupSink {
  return {
    record(rows) {
      if (rows.length > 0) writer.enqueue(rollupKind, rows);
    },
    async rebuildRecent() {
      return 0;
    },
  };
}
