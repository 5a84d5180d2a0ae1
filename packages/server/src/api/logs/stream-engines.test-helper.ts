import type { LogBus, LogReads, Stores } from '@hangar/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { openRedis } from '../../cluster/redis.js';
import { createFanoutLogBus } from '../../cluster/shared/fanout-log-bus.js';
import { createRedisFanout } from '../../cluster/shared/redis-fanout.js';
import { createRedisStreamSlots } from '../../cluster/shared/redis-stream-slots.js';
import { createStreamSlots, type StreamSlots } from '../../http/stream-slots.js';
import { createLogBus } from '../../runners/log-bus.js';
import { createCommittedLogs } from '../../store/committed-logs.js';
import { createPostgresStores } from '../../store/postgres/index.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { testQueryPool } from '../apps/testing/harness.test-helper.js';

// The pieces a log stream stands on, per engine: embedded (the SQLite log store, the in-process bus and
// stream caps, reads on a worker thread) or a cluster (PostgreSQL stores and reads, Redis fan-out and
// stream caps). In the cluster the lines are written and published by one node (its own stores and bus)
// and streamed by another, whose bus hears them only through Redis.

/** What the stream tests write through and serve from. */
export interface LogEngine {
  /** The writing node's stores (log lines are appended here). */
  stores: Stores;
  /** The bus the writing node's log sink publishes to (as the runner supervisor does). */
  sinkBus: LogBus;
  /** The writing node's log bus itself (what reaches live streams, stored or not). */
  nodeBus: LogBus;
  /** The serving node's bus, reads and stream caps (the routes use these). */
  bus: LogBus;
  reads: LogReads;
  streams: StreamSlots;
  /** The serving node's own commit of appended lines (the routes' `flushLogs`). */
  flushLogs(): Promise<void>;
  close(): Promise<void>;
}

/** An engine the stream tests run on; `open` takes the SQLite file the keys live in. */
export interface LogEngineKind {
  name: 'SQLite' | 'PostgreSQL + Redis';
  open(sqlitePath: string, maxStreams: number): Promise<LogEngine>;
}

const embedded: LogEngineKind = {
  name: 'SQLite',
  async open(path, max) {
    const stores = createSqliteStores({ path });
    const bus = createLogBus();
    // Worker threads with read-only connections, as in production: catch-up must see committed lines.
    const pool = testQueryPool(path, 1);
    await pool.logs.firstIdFrom({ owner: 'nobody', start: 0 }); // wait for the worker to start
    return {
      stores,
      sinkBus: bus,
      nodeBus: bus,
      bus,
      reads: pool.logs,
      streams: createStreamSlots(max),
      flushLogs: () => stores.flush(),
      async close() {
        await pool.close();
        await stores.close();
      },
    };
  },
};

function cluster(urls: () => { database: string; redis: string }): LogEngineKind {
  return {
    name: 'PostgreSQL + Redis',
    async open(_path, max) {
      const { database, redis } = urls();
      const conns: Redis[] = [];
      const conn = (name: string, blocking = false) => {
        const c = openRedis(redis, { name: `hangar:test:${name}`, blocking });
        c.on('error', () => {});
        conns.push(c);
        return c;
      };
      const node = (name: string) =>
        createFanoutLogBus({ fanout: createRedisFanout({ redis: conn(name), reader: conn(name, true) }) });
      // The server's wiring (store/open-stores.ts): the writing node's store publishes committed lines.
      const committed = createCommittedLogs();
      const writer = await createPostgresStores(database, {
        maintenanceIntervalMs: 0,
        onLogsCommitted: (lines) => committed.committed(lines),
      });
      const server = await createPostgresStores(database, { maintenanceIntervalMs: 0 });
      const writerNode = node('writer');

      const bus = node('server');
      const streams = createRedisStreamSlots({ redis: conn('slots'), max, nodeId: 'server' });
      return {
        stores: writer,
        sinkBus: committed.sinkBus(writerNode),
        nodeBus: writerNode,
        bus,
        reads: server.reads.logs,
        streams,
        // As in production: a node flushes its own stores; other nodes' lines are theirs to commit.
        flushLogs: () => server.flush(),
        async close() {
          writerNode.close();
          bus.close();
          await streams.close();
          await server.close();
          await writer.close();
          for (const c of conns) c.disconnect();
        },
      };
    },
  };
}

/** Declares `body`'s tests on the embedded engine and on PostgreSQL + Redis (skipped, with the reason, without them). */
export function describeOnLogEngines(title: string, body: (kind: LogEngineKind) => void): void {
  describe(`${title} (SQLite)`, () => body(embedded));
  const missing = postgresMissing ?? redisMissing;
  describe.skipIf(missing !== null)(`${title} (PostgreSQL + Redis)`, () => {
    let pg: PgTestServer | undefined;
    let redis: RedisTestServer | undefined;
    let database = '';
    beforeAll(async () => {
      pg = await startPostgres();
      database = await pg.createDatabase();
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.close();
      await pg?.close();
    });
    body(cluster(() => ({ database, redis: redis!.url })));
  });
}
