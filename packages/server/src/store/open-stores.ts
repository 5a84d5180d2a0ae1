import type { Clock, LogBus, RollupSink, SecretStore, Stores, WebhookOutbox } from '@hangar/core';
import type { Config } from '../config.js';
import { createCommittedLogs } from './committed-logs.js';
import { createPostgresStores, type PostgresStores } from './postgres/index.js';
import { createSqliteStores, type SqliteReadsOptions, type WriteErrorLogger } from './sqlite/index.js';

/** The stores main.ts composes the server from, whichever engine holds them. */
export interface ServerStores extends Stores {
  secrets: SecretStore;
  rollups: RollupSink;
  /** Webhook deliveries, in the same database as the requests. */
  outbox: WebhookOutbox;
  /** `postgres` in cluster mode (`HANGAR_DATABASE_URL`), else `sqlite`. */
  engine: 'sqlite' | 'postgres';
  /** The PostgreSQL stores themselves (pool, maintenance), for the cluster's wiring; null on SQLite. */
  postgres: PostgresStores | null;
  /**
   * The bus the runners' log sink publishes to, given the node's log bus: that bus on SQLite (append
   * assigns ids); on PostgreSQL the store publishes committed lines with their ids and the sink's bus
   * publishes nothing (see `createCommittedLogs`).
   */
  logSinkBus(bus: LogBus): LogBus;
}

/** Options main.ts passes to the stores. */
export interface OpenStoresOptions {
  clock: Clock;
  logger: WriteErrorLogger;
  groupCommitMs: number;
  checkpointIntervalMs: number;
  /** How SQLite's reads run (worker threads); PostgreSQL reads run on its connection pool. */
  reads: SqliteReadsOptions;
}

/**
 * Opens the stores the configuration names: PostgreSQL when `HANGAR_DATABASE_URL` is set (migrated at
 * open; a database migrated by a newer Hangar fails with DATABASE_SCHEMA_NEWER), else the SQLite file.
 */
export async function openStores(config: Config, opts: OpenStoresOptions): Promise<ServerStores> {
  if (config.postgres.url) {
    const logs = createCommittedLogs();
    const stores = await createPostgresStores(config.postgres.url, {
      clock: opts.clock,
      jsonCap: config.limits.jsonPayloadCap,
      logger: opts.logger,
      poolSize: config.postgres.poolSize,
      retention: config.postgres.retention,
      applicationName: `hangar:${config.nodeId}`,
      // The leader runs partition maintenance and retention (cluster/leader-duties.ts).
      maintenanceIntervalMs: 0,
      onLogsCommitted: (lines) => logs.committed(lines),
    });
    return Object.assign(stores, {
      engine: 'postgres' as const,
      postgres: stores,
      logSinkBus: (bus: LogBus) => logs.sinkBus(bus),
    });
  }
  const stores = createSqliteStores({
    path: config.dbPath,
    clock: opts.clock,
    jsonCap: config.limits.jsonPayloadCap,
    logger: opts.logger,
    flushIntervalMs: opts.groupCommitMs,
    checkpointIntervalMs: opts.checkpointIntervalMs,
    reads: opts.reads,
  });
  return Object.assign(stores, {
    engine: 'sqlite' as const,
    postgres: null,
    logSinkBus: (bus: LogBus) => bus,
  });
}
