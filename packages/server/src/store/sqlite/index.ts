import { type Clock, type Stores, systemClock, type WebhookOutbox } from '@hangar/core';
import { DEFAULT_JSON_CAP } from '../payload.js';
import { SqliteAppStore } from './apps.js';
import { startCheckpointer } from './checkpointer.js';
import { SqliteKeyStore } from './keys.js';
import { openDatabase } from './open.js';
import { createSqliteReads, type QueryWorkerFailure, type SqliteReads } from './reads/index.js';
import { SqliteRequestStore } from './requests.js';
import { createSqliteRollups } from './rollups.js';
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
  /** How the reads run (default: inline on the calling thread, no timeout). */
  reads?: SqliteReadsOptions;
}

/** Options of the SQLite reads' query pool. */
export interface SqliteReadsOptions {
  /** Worker threads; 0 runs reads inline on the calling thread (tests, small tools). */
  workers: number;
  /** Nice value (0–19) of each worker thread. */
  nice?: number;
  /** Longest a read may take once its worker is up, in ms; 0 waits for ever. */
  timeoutMs?: number;
  /** Told once per worker that died, got stuck or sent an unreadable answer. */
  onWorkerFailure?: (failure: QueryWorkerFailure) => void;
}

/** The SQLite stores; `reads` runs on a pool of read-only worker threads. */
export interface SqliteStores extends Stores {
  reads: SqliteReads;
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
  const r = opts.reads ?? { workers: 0 };
  const reads = createSqliteReads({
    dbPath: opts.path,
    size: r.workers,
    ...(r.nice === undefined ? {} : { nice: r.nice }),
    ...(r.timeoutMs === undefined ? {} : { timeoutMs: r.timeoutMs }),
    ...(r.onWorkerFailure ? { onWorkerFailure: r.onWorkerFailure } : {}),
  });
  let closed = false;
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
    rollups: createSqliteRollups(db, writer),
    reads,
    flush: () => writer.flush(),
    async close() {
      if (closed) return;
      closed = true;
      await reads.pool.close();
      writer.close();
      await checkpointer?.close();
      db.close();
    },
  };
}
