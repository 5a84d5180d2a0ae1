import type {
  AppEvent,
  EventStore,
  LogLine,
  LogStore,
  MeterRecord,
  MeterStore,
  RunnerRegistry,
  RunnerRow,
  RunnerSample,
  RunnerSampleStore,
} from '@hangar/core';
import type pg from 'pg';
import { RUNNER_COLUMNS, rowToRunnerRow, runnerValues } from '../runner-row.js';
import { rowToLogLine } from '../sqlite/rows.js';
import { jsonWithoutNul } from './nul-safe.js';
import { columns } from './request-writes.js';
import { ADVISORY } from './session.js';
import { query } from './statements.js';
import type { PgWriter, WriteKind } from './writer.js';

type Row = Record<string, unknown>;

/** An upsert of many rows, keeping the last queued row per key (one statement may touch a row once). */
function upsertKind<T>(
  name: string,
  key: (item: T) => string,
  toRow: (item: T) => unknown[],
  text: string,
): WriteKind<T> {
  return {
    name,
    rank: 1,
    async run(client, items) {
      const last = new Map<string, T>();
      for (const item of items) {
        const k = key(item);
        last.delete(k);
        last.set(k, item);
      }
      const rows = [...last.values()].map(toRow);
      await client.query(text, columns(rows, rows[0]?.length ?? 0));
    },
  };
}

const LOG_INSERT = `INSERT INTO logs (id, ts, owner, app, revision, level, message, request_id, job_id, endpoint,
  source, labels) SELECT * FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[],
  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`;

/**
 * Log lines on PostgreSQL. Ids come from the `logs_id_seq` sequence, drawn under a cluster-wide advisory
 * transaction lock held until the commit, so ids increase in commit order on every node: a reader that
 * saw id N and asks for `id > N` can never miss a line committed later with a smaller id. The lock
 * serialises log commits of the whole cluster (one per node batch, not per line); the writer takes it
 * last in its transaction to hold it only for the insert and the commit. Ids are set on the lines when
 * their batch runs and are final once it commits (`flush`), then `onCommitted` hears of them.
 */
export class PostgresLogStore implements LogStore {
  private readonly kind: WriteKind<LogLine[]>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
    onCommitted?: (lines: LogLine[]) => void,
  ) {
    this.kind = {
      name: 'logs',
      rank: 9,
      run: appendLines,
      committed: onCommitted ? (batches) => onCommitted(batches.flat()) : undefined,
    };
  }

  append(lines: LogLine[]): void {
    if (lines.length > 0) this.writer.enqueue(this.kind, lines);
  }

  async listByRequest(requestId: string, afterId = 0): Promise<LogLine[]> {
    const text = 'SELECT * FROM logs WHERE request_id = $1 AND id > $2 ORDER BY id';
    return (await query<Row>(this.pool, this.writer, text, [requestId, afterId])).map(rowToLogLine);
  }
}

async function appendLines(client: pg.PoolClient, batches: LogLine[][]): Promise<void> {
  const lines = batches.flat();
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY.namespace, ADVISORY.logIds]);
  const res = await client.query<{ last: number }>(
    "SELECT setval('logs_id_seq', nextval('logs_id_seq') + $1 - 1) AS last",
    [lines.length],
  );
  let id = Number(res.rows[0]!.last) - lines.length + 1;
  const rows = lines.map((line) => {
    line.id = id++;
    const l = line.labels;
    return [
      line.id,
      line.ts,
      line.owner,
      line.app,
      line.revision,
      line.level,
      line.message,
      l.fal_request_id ?? null,
      l.fal_job_id ?? null,
      l.fal_endpoint ?? null,
      l.source ?? null,
      jsonWithoutNul(l),
    ];
  });
  await client.query(LOG_INSERT, columns(rows, 12));
}

const eventKind = upsertKind<AppEvent>(
  'events',
  (e) => e.eventId,
  (e) => [e.eventId, e.owner, e.app, e.category, e.createdAt, jsonWithoutNul(e.payload)],
  `INSERT INTO events (event_id, owner, app, category, created_at, payload)
   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[])
   ON CONFLICT (event_id) DO UPDATE SET owner = excluded.owner, app = excluded.app, category = excluded.category,
     created_at = excluded.created_at, payload = excluded.payload`,
);

/** App events on PostgreSQL, batched; an event id written again replaces the event. */
export class PostgresEventStore implements EventStore {
  constructor(private readonly writer: PgWriter) {}

  append(event: AppEvent): void {
    this.writer.enqueue(eventKind, event);
  }
}

const meterKind = upsertKind<MeterRecord>(
  'meter',
  (r) => `${r.runnerId}\u0000${r.minute}`,
  (r) => [r.runnerId, r.minute, r.owner, r.app, r.environment, r.machineType, r.isSurge ? 1 : 0, r.seconds],
  `INSERT INTO meter (runner_id, minute, owner, app, environment, machine_type, is_surge, seconds)
   SELECT * FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
     $8::float8[])
   ON CONFLICT (runner_id, minute) DO UPDATE SET owner = excluded.owner, app = excluded.app,
     environment = excluded.environment, machine_type = excluded.machine_type, is_surge = excluded.is_surge,
     seconds = excluded.seconds`,
);

/** Per-minute machine time on PostgreSQL: an upsert, so re-metering a minute replaces it. */
export class PostgresMeterStore implements MeterStore {
  constructor(private readonly writer: PgWriter) {}

  record(rows: MeterRecord[]): void {
    for (const row of rows) this.writer.enqueue(meterKind, row);
  }
}

const sampleKind: WriteKind<RunnerSample> = {
  name: 'runner_samples',
  rank: 1,
  async run(client, items) {
    const rows = items.map((s) => [s.ts, s.owner, s.app, s.pending, s.setup, s.idle, s.running, s.draining]);
    await client.query(
      `INSERT INTO runner_samples (ts, owner, app, pending, setup, idle, running, draining)
       SELECT * FROM unnest($1::float8[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[])`,
      columns(rows, 8),
    );
  },
};

/** Runner state samples on PostgreSQL, batched. */
export class PostgresRunnerSampleStore implements RunnerSampleStore {
  constructor(private readonly writer: PgWriter) {}

  append(samples: RunnerSample[]): void {
    for (const s of samples) this.writer.enqueue(sampleKind, s);
  }
}

const runnerKind = upsertKind<RunnerRow>(
  'runners',
  (r) => r.runnerId,
  (r) => runnerValues(r, (surge) => surge),
  `INSERT INTO runners (${RUNNER_COLUMNS})
   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
     $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::text[], $13::text[], $14::text[],
     $15::text[], $16::boolean[])
   ON CONFLICT (runner_id) DO UPDATE SET owner = excluded.owner, app = excluded.app,
     revision_id = excluded.revision_id, machine_type = excluded.machine_type, pid = excluded.pid,
     state = excluded.state, started_at = excluded.started_at, ended_at = excluded.ended_at,
     metered_until = excluded.metered_until, state_since = excluded.state_since,
     state_times = excluded.state_times, gpu_usage = excluded.gpu_usage, node_id = excluded.node_id,
     environment = excluded.environment, is_surge = excluded.is_surge`,
);

/** The registry of runners on PostgreSQL; upserts are batched, reads wait for them. */
export class PostgresRunnerRegistry implements RunnerRegistry {
  constructor(
    private readonly pool: pg.Pool,
    private readonly writer: PgWriter,
  ) {}

  upsertRunner(row: RunnerRow): void {
    this.writer.enqueue(runnerKind, row);
  }

  async listLiveRunners(): Promise<RunnerRow[]> {
    const text = 'SELECT * FROM runners WHERE ended_at IS NULL ORDER BY started_at, runner_id';
    return (await query<Row>(this.pool, this.writer, text)).map(rowToRunnerRow);
  }

  async findRunner(owner: string, app: string, runnerId: string): Promise<RunnerRow | null> {
    const text = 'SELECT * FROM runners WHERE runner_id = $1 AND owner = $2 AND app = $3';
    const [row] = await query<Row>(this.pool, this.writer, text, [runnerId, owner, app]);
    return row ? rowToRunnerRow(row) : null;
  }
}
