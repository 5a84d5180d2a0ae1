import { HOUR_MS, type LogBus, type NodeRecord, type RequestRecord } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestFixture } from '../store/fixtures.js';
import type { ServerStores } from '../store/open-stores.js';
import { createPostgresStores, type PostgresStores } from '../store/postgres/index.js';
import { type PgTestServer, postgresMissing, startPostgres } from '../test-services/postgres.test-helper.js';
import { createLeaderDuties, queueDemand, ROLLUP_SETTLE_MS } from './leader-duties.js';
import { MemoryWorkQueue } from './queue/memory-work-queue.js';
import { work } from './queue/work-queue-contract.test-helper.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const leader = { nodeId: 'node-b', token: 1 };

/** The stores one node opens: its connections carry its node id (the accepting node of its inserts). */
async function storesOf(url: string, node: string): Promise<ServerStores & PostgresStores> {
  const stores = await createPostgresStores(url, {
    logger: quiet,
    applicationName: `hangar:${node}`,
    maintenanceIntervalMs: 0,
  });
  return Object.assign(stores, {
    engine: 'postgres' as const,
    postgres: stores,
    logSinkBus: (b: LogBus) => b,
  });
}

function deadNode(nodeId: string, lastHeartbeat: number, deadAt: number): NodeRecord {
  return {
    nodeId,
    host: 'h',
    url: 'http://127.0.0.1:1',
    version: '0',
    startedAt: 1,
    lastHeartbeat,
    capacity: { machineTypes: ['CPU'], runnerSlots: 4, gpus: 0, freeGpus: 0 },
    runners: 0,
    apps: [],
    draining: false,
    deadAt,
  };
}

describe.skipIf(postgresMissing !== null)('the leader duties on PostgreSQL', () => {
  let server: PgTestServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server?.close());

  it('records which node accepted each request, and answers one node its own unfinished requests', async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([storesOf(url, 'node-a'), storesOf(url, 'node-b')]);
    try {
      await a.requests.insert(requestFixture('ra', { sentAt: 10 }), Buffer.from('{}'));
      await b.requests.insert(requestFixture('rb', { sentAt: 20 }), Buffer.from('{}'));
      const ids = (recs: RequestRecord[]) => recs.map((r) => r.requestId);
      expect(ids(await b.requests.listUnfinished({ acceptedBy: 'node-a' }))).toEqual(['ra']);
      expect(ids(await a.requests.listUnfinished({ acceptedBy: 'node-b' }))).toEqual(['rb']);
      expect(ids(await a.requests.listUnfinished())).toEqual(['ra', 'rb']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("closes a dead node's sync calls at its last heartbeat, once, and nothing else", async () => {
    const url = await server.createDatabase();
    const [a, b] = await Promise.all([storesOf(url, 'node-a'), storesOf(url, 'node-b')]);
    try {
      const sync = (id: string, sentAt: number) =>
        requestFixture(id, { mode: 'sync', status: 'IN_PROGRESS', startedAt: sentAt, sentAt });
      await a.requests.insert(sync('a-sync', 1_000), Buffer.alloc(0));
      await a.requests.insert(requestFixture('a-queued', { sentAt: 1_100 }), Buffer.from('{}'));
      await b.requests.insert(sync('b-sync', 1_200), Buffer.alloc(0));
      // Accepted under the same node id after the node was declared dead: a restarted incarnation's.
      await a.requests.insert(sync('a-later', 9_000), Buffer.alloc(0));
      const queue = new MemoryWorkQueue();
      const duties = createLeaderDuties({
        stores: b,
        requests: b.requests,
        apps: b.apps,
        workQueue: queue,
        logger: quiet,
      });
      const dead = deadNode('node-a', 5_000, 8_000);
      await duties.deadNodeDuty?.([dead], leader, 8_500);
      await duties.deadNodeDuty?.([dead], leader, 8_600);
      await b.flush();
      expect(await b.requests.get('a-sync')).toMatchObject({
        status: 'COMPLETED',
        statusCode: 502,
        errorClass: 'connection',
        endedAt: 5_000,
      });
      expect((await b.requests.get('a-queued'))?.status).toBe('IN_QUEUE');
      expect((await b.requests.get('b-sync'))?.status).toBe('IN_PROGRESS');
      expect((await b.requests.get('a-later'))?.status).toBe('IN_PROGRESS');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("rebuilds the rollups of a dead node's last hours only once the live nodes drained them", async () => {
    const url = await server.createDatabase();
    const b = await storesOf(url, 'node-b');
    try {
      const hour = 100 * HOUR_MS;
      // Completed requests whose rollups their node never drained (it died).
      for (const [i, endedAt] of [hour + 60_000, hour + 120_000].entries()) {
        await b.requests.insert(requestFixture(`done-${i}`, { sentAt: endedAt - 50 }), Buffer.from('{}'));
        b.requests.complete(
          `done-${i}`,
          { status: 'COMPLETED', startedAt: endedAt - 40, endedAt, statusCode: 200, durationMs: 40 },
          null,
          endedAt + 1_000,
        );
      }
      await b.flush();
      const hourCount = async () => {
        const { rows } = await b.pool.query<{ n: string | null }>(
          `SELECT sum(request_count)::text AS n FROM request_rollups WHERE span = ${HOUR_MS}`,
        );
        return Number(rows[0]?.n ?? 0);
      };
      const duties = createLeaderDuties({
        stores: b,
        requests: b.requests,
        apps: b.apps,
        workQueue: null,
        logger: quiet,
      });
      const dead = deadNode('node-a', hour + 130_000, hour + 136_000);
      await duties.deadNodeDuty?.([dead], leader, hour + 140_000);
      expect(await hourCount()).toBe(0);
      await duties.deadNodeDuty?.([dead], leader, hour + HOUR_MS + ROLLUP_SETTLE_MS);
      expect(await hourCount()).toBe(2);
    } finally {
      await b.close();
    }
  });

  it('reports whether every migration of this build is applied', async () => {
    const url = await server.createDatabase();
    const b = await storesOf(url, 'node-b');
    try {
      const duties = createLeaderDuties({
        stores: b,
        requests: b.requests,
        apps: b.apps,
        workQueue: null,
        logger: quiet,
      });
      expect(await duties.migrationsApplied?.()).toBe(true);
      await b.pool.query('DELETE FROM schema_migrations WHERE version = 3');
      expect(await duties.migrationsApplied?.()).toBe(false);
    } finally {
      await b.close();
    }
  });
});

describe('placement demand from the cluster queue', () => {
  it("counts each app's queue length, including apps no live node reports", async () => {
    const queue = new MemoryWorkQueue();
    await queue.enqueue(work({ sentAt: 1, app: 'busy' }));
    await queue.enqueue(work({ sentAt: 2, app: 'busy' }));
    await queue.enqueue(work({ sentAt: 3, app: 'orphan' }));
    const manifest = { machine_type: 'GPU-A100' };
    const apps = {
      listApps: async () =>
        ['busy', 'orphan', 'idle'].map((name) => ({ owner: 'alice', name, manifest })) as never,
    };
    const node = {
      ...deadNode('node-b', 1, 0),
      deadAt: null,
      apps: [{ owner: 'alice', app: 'busy', machineType: 'CPU', queued: 7, inFlight: 3, runners: 1 }],
    };
    const demand = await queueDemand(queue, apps).demand([node]);
    expect(demand.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'alice/busy', machineType: 'CPU', queued: 2, inFlight: 3 },
      { key: 'alice/orphan', machineType: 'GPU-A100', queued: 1, inFlight: 0 },
    ]);
  });
});
