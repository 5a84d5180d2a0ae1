import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterMembership, RunnerRow } from '@hangar/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closingMeterRows, meterRows } from '../runners/metering.js';
import { runnerFixture } from '../store/fixtures.js';
import { createSqliteStores, openReadOnly, type SqliteStores } from '../store/sqlite/index.js';
import { type RedisTestServer, redisMissing, startRedis } from '../test-services/redis.test-helper.js';
import { sweepDeadNodes } from './dead-nodes.js';
import { beatOf } from './membership-contract.test-helper.js';
import { openRedis } from './redis.js';
import { createRedisMembership } from './redis-membership.js';

const HB = 1_700_000_130_000;
const DEAD_AFTER = 5_000;

/** A runner row of `nodeId` and the meter rows its node wrote up to `meteredUntil`. */
function placed(id: string, nodeId: string, startedAt: number, meteredUntil: number): RunnerRow {
  return runnerFixture(id, {
    nodeId,
    environment: 'main',
    isSurge: false,
    startedAt,
    meteredUntil,
    state: 'running',
  });
}

describe('closingMeterRows', () => {
  it('trims minutes metered past the end and fills those not metered up to it', () => {
    const start = 60_000 * 10 + 30_000;
    const row = placed('r', 'b', start, start + 150_000);
    const trimmed = closingMeterRows(row, start + 40_000);
    // The first minute was complete before the end: it is left as metered.
    expect(trimmed.map((r) => [r.minute, r.seconds])).toEqual([
      [660_000, 10],
      [720_000, 0],
    ]);
    const filled = closingMeterRows(placed('r', 'b', start, start + 10_000), start + 100_000);
    expect(filled.map((r) => [r.minute, r.seconds])).toEqual([
      [600_000, 30],
      [660_000, 60],
      [720_000, 10],
    ]);
  });
});

describe.skipIf(redisMissing !== null)('the leader closing dead nodes', () => {
  let server: RedisTestServer;
  let dir: string;
  const conns: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'hangar-dead-nodes-'));
  });
  beforeEach(async () => {
    const r = openRedis(server.url, { name: 'flush' });
    await r.flushdb();
    r.disconnect();
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const membershipOf = (name: string): ClusterMembership => {
    const r = openRedis(server.url, { name });
    conns.push(r);
    return createRedisMembership(r);
  };
  const meteredSeconds = (path: string, runnerId: string) => {
    const db = openReadOnly(path);
    try {
      const row = db.prepare('SELECT sum(seconds) AS s FROM meter WHERE runner_id = ?').get(runnerId) as {
        s: number;
      };
      return row.s;
    } finally {
      db.close();
    }
  };

  it('ends a dead node’s runners at its last heartbeat, its meter rows counting nothing after it', async () => {
    const path = join(dir, 'closing.db');
    const stores: SqliteStores = createSqliteStores({ path });
    const leaderView = membershipOf('leader');
    const nodeB = membershipOf('b');
    await nodeB.heartbeat(beatOf('b', 1_000), HB);
    await leaderView.heartbeat(beatOf('a', 1_000), HB + DEAD_AFTER + 1_000);
    // r1 was metered 20 s past the heartbeat (the node wrote meter rows, then died), r2 4 s short of it.
    const runs = [placed('r1', 'b', HB - 90_000, HB + 20_000), placed('r2', 'b', HB - 30_000, HB - 4_000)];
    const alive = placed('r3', 'a', HB - 10_000, HB + 5_000);
    for (const r of [...runs, alive]) {
      stores.runners.upsertRunner(r);
      const base = {
        runnerId: r.runnerId,
        owner: r.owner,
        app: r.app,
        environment: 'main',
        machineType: r.machineType,
        isSurge: false,
      };
      stores.meter.record(meterRows(base, r.startedAt, r.startedAt, r.meteredUntil));
    }
    await stores.flush();
    const lead = (await leaderView.campaign('a', 60_000, null))!;

    expect(await sweepDeadNodes(deps(stores, leaderView), lead, HB + DEAD_AFTER - 1)).toBe(0);
    expect((await stores.runners.listLiveRunners()).length).toBe(3);

    expect(await sweepDeadNodes(deps(stores, leaderView), lead, HB + DEAD_AFTER + 1)).toBe(2);
    await stores.flush();
    expect((await leaderView.listNodes()).find((n) => n.nodeId === 'b')?.deadAt).toBe(HB + DEAD_AFTER + 1);
    for (const r of runs) {
      expect(await stores.runners.findRunner('acme', 'echo', r.runnerId)).toMatchObject({
        state: 'terminated',
        endedAt: HB,
        meteredUntil: HB,
      });
      expect(meteredSeconds(path, r.runnerId)).toBeCloseTo((HB - r.startedAt) / 1000, 6);
    }
    expect((await stores.runners.listLiveRunners()).map((r) => r.runnerId)).toEqual(['r3']);
    expect(meteredSeconds(path, 'r3')).toBeCloseTo(15, 6);
    expect(await nodeB.heartbeat(beatOf('b', 1_000), HB + 60_000)).toBe('evicted');
    await stores.close();
  });

  it('closes nothing with a stale token', async () => {
    const path = join(dir, 'stale.db');
    const stores = createSqliteStores({ path });
    const view = membershipOf('stale');
    await view.heartbeat(beatOf('c', 1_000), HB);
    stores.runners.upsertRunner(placed('s1', 'c', HB - 1_000, HB));
    await stores.flush();
    const old = (await view.campaign('old', 60_000, null))!;
    await view.resign('old', old.token);
    await view.campaign('new', 60_000, null);
    expect(await sweepDeadNodes(deps(stores, view), old, HB + 60_000)).toBe(0);
    expect((await stores.runners.listLiveRunners()).map((r) => r.runnerId)).toEqual(['s1']);
    expect((await view.listNodes()).find((n) => n.nodeId === 'c')?.deadAt).toBeNull();
    await stores.close();
  });

  it('leaves alone the runners of a node that came back under the same id while it swept', async () => {
    const path = join(dir, 'rejoined.db');
    const stores = createSqliteStores({ path });
    const view = membershipOf('rejoin-leader');
    const nodeD = membershipOf('d');
    await nodeD.heartbeat(beatOf('d', 1_000), HB);
    await view.heartbeat(beatOf('a', 1_000), HB + DEAD_AFTER + 1_000);
    stores.runners.upsertRunner(placed('old', 'd', HB - 5_000, HB));
    await stores.flush();
    const lead = (await view.campaign('a', 60_000, null))!;
    expect(await sweepDeadNodes(deps(stores, view), lead, HB + DEAD_AFTER + 1)).toBe(1);
    // The sweep below lists the nodes before d's new incarnation joins (d still dead), and the runners
    // after it joined and started one: the interleaving a sweep can meet when a node restarts.
    const stale = await view.listNodes();
    expect(await nodeD.heartbeat(beatOf('d', 9_000), HB + DEAD_AFTER + 2_000)).toBe('alive');
    stores.runners.upsertRunner(placed('new', 'd', HB + DEAD_AFTER + 2_500, HB + DEAD_AFTER + 3_000));
    await stores.flush();
    let calls = 0;
    const racing: ClusterMembership = {
      ...view,
      listNodes: async () => (calls++ === 0 ? stale : view.listNodes()),
    };
    expect(await sweepDeadNodes(deps(stores, racing), lead, HB + DEAD_AFTER + 4_000)).toBe(0);
    await stores.flush();
    expect((await stores.runners.listLiveRunners()).map((r) => r.runnerId)).toEqual(['new']);
    await stores.close();
  });

  function deps(stores: SqliteStores, membership: ClusterMembership) {
    let n = 0;
    return {
      membership,
      runners: stores.runners,
      meter: stores.meter,
      events: stores.events,
      ids: () => `ev-${n++}`,
      deadAfterMs: DEAD_AFTER,
    };
  }
});
