import {
  type Clock,
  type LogLine,
  PlatformError,
  type SecretStore,
  type Stores,
  systemClock,
  type WebhookOutbox,
} from '@hangar/core';
import type pg from 'pg';
import { DEFAULT_JSON_CAP } from '../payload.js';
import { PostgresAppStore, PostgresKeyStore, PostgresSecretStore } from './catalog.js';
import { loadMigrations, migratePostgres } from './migrate.js';
import { PostgresWebhookOutbox } from './outbox.js';
import {
  DEFAULT_RETENTION,
  type MaintenanceResult,
  type PostgresRetention,
  runPostgresMaintenance,
} from './partitions.js';
import {
  databaseUnavailable,
  isConnectionError,
  openPool,
  type PostgresPoolOptions,
  sessionOf,
} from './pool.js';
import { createPostgresReads } from './reads/index.js';
import { PostgresRequestStore } from './requests.js';
import { createPostgresRollupSink, type PostgresRollupSink } from './rollups.js';
import type { PgSession } from './session.js';
import {
  PostgresEventStore,
  PostgresLogStore,
  PostgresMeterStore,
  PostgresRunnerRegistry,
  PostgresRunnerSampleStore,
} from './telemetry.js';
import { type PgWriteLogger, PgWriter } from './writer.js';

export { loadMigrations, type Migration, migratePostgres } from './migrate.js';
export { DEFAULT_RETENTION, type PostgresRetention, runPostgresMaintenance } from './partitions.js';
export { databaseUnavailable, isConnectionError } from './pool.js';

/** Options of the PostgreSQL stores. */
export interface PostgresStoresOptions extends PostgresPoolOptions {
  clock?: Clock;
  /** Byte cap of stored `json_input`/`json_output` (default 64 KiB). */
  jsonCap?: number;
  /** Days kept per partitioned table (`postgres.retention_days`). */
  retention?: PostgresRetention;
  /** Writes kept for retry while the database is unreachable (default 100,000). */
  maxQueuedWrites?: number;
  /** Estimated bytes those writes may hold (default 256 MiB). */
  maxQueuedBytes?: number;
  /**
   * How often this node runs partition maintenance itself (default 6 h; 0: never, when the cluster leader
   * calls `maintain`). Safe on every node: passes are serialised by an advisory lock and idempotent.
   */
  maintenanceIntervalMs?: number;
  logger?: PgWriteLogger;
  /** Hears log lines once committed, with their final ids (for a cluster-wide fan-out). */
  onLogsCommitted?: (lines: LogLine[]) => void;
}

/** The PostgreSQL stores, the secret store, and the upkeep the cluster leader runs. */
export interface PostgresStores extends Stores {
  secrets: SecretStore;
  /** Analytics rollups, merged through the writer. */
  rollups: PostgresRollupSink;
  /** Webhook deliveries, in the same database as the requests. */
  outbox: WebhookOutbox;
  /** The pool, for the read side (Platform API queries) of the same database. */
  pool: pg.Pool;
  /** Creates coming partitions and drops expired ones (`runPostgresMaintenance` with the configured retention). */
  maintain(now: number): Promise<MaintenanceResult>;
  /** Writes dropped because the retry queue was full during an outage. */
  droppedWrites(): number;
}

/**
 * Opens every store on one PostgreSQL database: applies the migrations this build ships (refusing a newer
 * schema), creates the partitions of the coming days, and starts the group-committing writer.
 */
export async function createPostgresStores(
  url: string,
  opts: PostgresStoresOptions = {},
): Promise<PostgresStores> {
  const pool = openPool(url, opts);
  const clock = opts.clock ?? systemClock;
  const retention = opts.retention ?? DEFAULT_RETENTION;
  const maintain = (now: number) =>
    withClient(pool, (db) => runPostgresMaintenance(db, now, retention)).catch((err: unknown) => {
      throw isConnectionError(err) ? databaseUnavailable() : err;
    });
  try {
    const migrations = await loadMigrations();
    await withClient(pool, (db) => migratePostgres(db, migrations));
    await maintain(clock());
  } catch (err) {
    await pool.end().catch(() => {});
    if (!isConnectionError(err)) throw err;
    // The driver's message names the address; the URL (and any password in it) never appears.
    const code = (err as { code?: unknown }).code;
    throw new PlatformError(
      'DATABASE_UNAVAILABLE',
      `PostgreSQL (HANGAR_DATABASE_URL) did not answer at start${typeof code === 'string' ? ` (${code})` : ''}`,
      { 'retry-after': '2' },
    );
  }
  const writer = new PgWriter(pool, {
    maxQueued: opts.maxQueuedWrites,
    maxQueuedBytes: opts.maxQueuedBytes,
    logger: opts.logger,
  });
  let closed = false;
  const every = opts.maintenanceIntervalMs ?? 6 * 3_600_000;
  const upkeep =
    every > 0
      ? setInterval(() => {
          maintain(clock()).catch((err: unknown) =>
            (opts.logger ?? console).error({ err }, 'PostgreSQL partition maintenance failed'),
          );
        }, every).unref()
      : null;
  return {
    keys: new PostgresKeyStore(pool, writer, clock),
    apps: new PostgresAppStore(pool, writer),
    requests: new PostgresRequestStore(pool, writer, clock, opts.jsonCap ?? DEFAULT_JSON_CAP),
    logs: new PostgresLogStore(pool, writer, opts.onLogsCommitted),
    events: new PostgresEventStore(writer),
    meter: new PostgresMeterStore(writer),
    samples: new PostgresRunnerSampleStore(writer),
    runners: new PostgresRunnerRegistry(pool, writer),
    secrets: new PostgresSecretStore(pool, writer),
    rollups: createPostgresRollupSink(writer),
    reads: createPostgresReads(pool, {
      warn: (message) => (opts.logger ?? console).error({}, message),
    }),
    outbox: new PostgresWebhookOutbox({
      query: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    }),
    pool,
    maintain,
    droppedWrites: () => writer.dropped,
    flush: () => writer.flush(),
    async close() {
      if (closed) return;
      closed = true;
      if (upkeep) clearInterval(upkeep);
      await writer.close();
      await pool.end();
    },
  };
}

/** Runs `fn` on one connection of the pool (session advisory locks need the same connection throughout). */
async function withClient<T>(pool: pg.Pool, fn: (db: PgSession) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  client.on('error', () => {});
  let failed: Error | undefined;
  try {
    return await fn(sessionOf(client));
  } catch (err) {
    if (isConnectionError(err)) failed = err as Error;
    throw err;
  } finally {
    client.release(failed);
  }
}
