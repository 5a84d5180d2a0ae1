import { type Clock, type SecretStore, type Stores, systemClock, type WebhookOutbox } from '@hangar/core';
import {
  type RollupRow,
  rebuildRollups,
  reconcileDayRollups,
  upsertRollupRows,
} from '../../telemetry/request-rollup.js';
import { DEFAULT_JSON_CAP } from '../payload.js';
import { SqliteAppStore } from './apps.js';
import { startCheckpointer } from './checkpointer.js';
import { SqliteKeyStore } from './keys.js';
import { openDatabase } from './open.js';
import { SqliteRequestStore } from './requests.js';
import { SqliteSecretStore } from './secrets.js';
import {
  SqliteEventStore,
  SqliteLogStore,
  SqliteMeterStore,
  SqliteRunnerRegistry,
  SqliteRunnerSampleStore,
} from './telemetry.js';
import { SqliteWebhookOutbox } from './webhook-outbox.js';
import { SqliteWriter, type WriteErrorLogger } from './writer.js';

export { migrate, openDatabase, openReadOnly } from './open.js';
export * from './rows.js';
export { type Runnable, SqliteWriter, type WriteErrorLogger, type WriterOptions } from './writer.js';

/** Options of the SQLite stores. */
export interface SqliteStoresOptions {
  /** Database file; created and migrated when missing. */
  path: string;
  clock?: Clock;
  /** 0 (default) commits once per event-loop turn; more gathers writes for that many ms (group commit). */
  flushIntervalMs?: number;
  /** Byte cap of stored `json_input`/`json_output` (default 64 KiB). */
  jsonCap?: number;
  /** Where rows that fail to commit are reported (default: console). */
  logger?: WriteErrorLogger;
  /**
   * When set, WAL checkpoints run on a worker thread this often instead of inside the writer's commits
   * (default: SQLite's automatic checkpoints, on the writer's thread).
   */
  checkpointIntervalMs?: number;
}

/** Analytics rollups written through the same batched writer as everything else. */
export interface RollupSink {
  /** Merges drained per-minute rows into the stored rollups (in the writer's next batch). */
  record(rows: RollupRow[]): void;
  /**
   * Recomputes rollups from the request rows for requests that ended in the last `windowMs` before the
   * latest recorded end: what a crash may have left undrained.
   */
  rebuildRecent(windowMs: number): Promise<number>;
}

/** The SQLite stores plus the analytics rollup sink. */
export interface SqliteStores extends Stores {
  rollups: RollupSink;
  /** Owners' sealed secrets. */
  secrets: SecretStore;
  /** Webhook deliveries, on the same file and writer as the requests. */
  outbox: WebhookOutbox;
}

/** Opens every store on one SQLite file, with a single batched writer for all writes. */
export function createSqliteStores(opts: SqliteStoresOptions): SqliteStores {
  const db = openDatabase(opts.path);
  const clock = opts.clock ?? systemClock;
  const writer = new SqliteWriter(db, { flushIntervalMs: opts.flushIntervalMs ?? 0, logger: opts.logger });
  const checkpointer = opts.checkpointIntervalMs
    ? startCheckpointer(db, opts.path, opts.checkpointIntervalMs, opts.logger ?? console)
    : null;
  let closed = false;
  const upsertRollup = {
    run: (params: unknown[]) => {
      upsertRollupRows(db, params[0] as RollupRow[]);
      return { changes: (params[0] as RollupRow[]).length };
    },
  };
  return {
    keys: new SqliteKeyStore(db, writer, clock),
    apps: new SqliteAppStore(db, writer),
    requests: new SqliteRequestStore(db, writer, clock, opts.jsonCap ?? DEFAULT_JSON_CAP),
    logs: new SqliteLogStore(db, writer),
    events: new SqliteEventStore(db, writer),
    meter: new SqliteMeterStore(db, writer),
    samples: new SqliteRunnerSampleStore(db, writer),
    runners: new SqliteRunnerRegistry(db, writer),
    secrets: new SqliteSecretStore(db, writer),
    outbox: new SqliteWebhookOutbox(db, writer),
    rollups: {
      record(rows) {
        if (rows.length > 0) writer.enqueue(upsertRollup, [rows]);
      },
      async rebuildRecent(windowMs) {
        await writer.flush();
        const last = (db.prepare('SELECT MAX(ended_at) AS t FROM requests').get() as { t: number | null }).t;
        const folded = last === null ? 0 : rebuildRollups(db, last - windowMs, last + 1);
        reconcileDayRollups(db);
        return folded;
      },
    },
    flush: () => writer.flush(),
    async close() {
      if (closed) return;
      closed = true;
      writer.close();
      await checkpointer?.close();
      db.close();
    },
  };
}
