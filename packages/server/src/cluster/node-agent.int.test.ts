import type { Leadership, NodeAppLoad } from '@hangar/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStores } from '../store/memory/index.js';
import { type RedisTestServer, redisMissing, startRedis } from '../test-services/redis.test-helper.js';
import { createNodeAgent, type NodeAgent } from './node-agent.js';
import { openRedis } from './redis.js';
import { createRedisMembership } from './redis-membership.js';

const quiet = { info() {}, warn() {}, error() {} };

describe.skipIf(redisMissing !== null)('node agents over Redis', () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  beforeEach(async () => {
    const r = openRedis(server.url, { name: 'flush' });
    await r.flushdb();
    r.disconnect();
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await server?.close();
  });

  /** An agent with its own connection, a settable clock and load, and a record of what it saw. */
  function agentOf(nodeId: string, t: { now: number }, apps: NodeAppLoad[] = [], startedAt = 1) {
    const redis = openRedis(server.url, { name: `hangar:${nodeId}:test` });
    conns.push(redis);
    const stores = createMemoryStores();
    const seen = { retention: [] as Leadership[], evicted: 0 };
    let n = 0;
    const agent: NodeAgent = createNodeAgent({
      membership: createRedisMembership(redis),
      self: { nodeId, host: `${nodeId}.local`, url: `http://${nodeId}.local`, version: 'test', startedAt },
      capacity: () => ({ machineTypes: ['cpu'], runnerSlots: 4, gpus: 0, freeGpus: 0 }),
      load: () => ({ runners: apps.reduce((a, l) => a + l.runners, 0), apps }),
      timing: { leaseMs: 60_000, renewMs: 1_000, deadAfterMs: 5_000, retentionIntervalMs: 10_000 },
      now: () => t.now,
      logger: quiet,
      deadNodes: {
        runners: stores.runners,
        meter: stores.meter,
        events: stores.events,
        ids: () => `e${n++}`,
      },
      retention: async (leader) => void seen.retention.push(leader),
      onEvicted: () => void seen.evicted++,
    });
    return { agent, seen, membership: createRedisMembership(redis) };
  }

  it('join registers a restarted incarnation before its runners start, taking no work, and answers the last heartbeat of the one before', async () => {
    const t = { now: 10_000 };
    const first = agentOf('j', t);
    expect(await first.agent.join()).toBeNull();
    await first.agent.tick();
    t.now = 12_000;
    await first.agent.tick();
    // The process dies; a new one with the same node id joins later.
    t.now = 30_000;
    const second = agentOf('j', t, [], 29_000);
    expect(await second.agent.join()).toBe(12_000);
    const listed = (await second.membership.listNodes()).find((n) => n.nodeId === 'j');
    expect(listed).toMatchObject({ startedAt: 29_000, lastHeartbeat: 30_000, draining: true, deadAt: null });
    await second.agent.tick();
    expect((await second.membership.listNodes()).find((n) => n.nodeId === 'j')?.draining).toBe(false);
  });

  it('a drained leader hands over: the next leader places its share elsewhere, and it leaves on close', async () => {
    const t = { now: 1_000 };
    const load = [{ owner: 'acme', app: 'echo', machineType: 'cpu', queued: 2, inFlight: 1, runners: 1 }];
    const a = agentOf('a', t, load);
    const b = agentOf('b', t);
    await a.agent.tick();
    await b.agent.tick();
    // The leader placed the 3 slots: the one runner stays on a; then b (4 free slots against 3), then a
    // again (3 against 3: ties go by node id).
    await a.agent.tick();
    await b.agent.tick();
    expect(a.agent.leader()?.nodeId).toBe('a');
    expect(b.agent.leader()).toBeNull();
    expect([a.agent.targetFor('acme', 'echo'), b.agent.targetFor('acme', 'echo')]).toEqual([2, 1]);
    expect(a.seen.retention.map((l) => l.nodeId)).toEqual(['a']);

    await a.agent.drain();
    expect(a.agent.targetFor('acme', 'echo')).toBe(0);
    expect((await b.membership.listNodes()).find((n) => n.nodeId === 'a')?.draining).toBe(true);
    t.now += 1_000;
    await b.agent.tick();
    await a.agent.tick();
    await b.agent.tick();
    expect(b.agent.leader()?.nodeId).toBe('b');
    expect(b.agent.leader()!.token).toBeGreaterThan(a.seen.retention[0]!.token);
    expect(b.agent.targetFor('acme', 'echo')).toBe(3);
    expect(a.agent.leader()).toBeNull();
    expect(b.seen.retention.map((l) => l.nodeId)).toEqual(['b']);

    await a.agent.close();
    expect((await b.membership.listNodes()).map((n) => n.nodeId)).toEqual(['b']);
  });

  it('the leader declares a silent node dead, and that node learns it was evicted when it comes back', async () => {
    const t = { now: 1_000 };
    const lead = agentOf('lead', t);
    const quietNode = agentOf('quiet', t);
    await lead.agent.tick();
    await quietNode.agent.tick();
    t.now += 5_001;
    await lead.agent.tick();
    const view = await lead.membership.listNodes();
    expect(view.find((n) => n.nodeId === 'quiet')).toMatchObject({ deadAt: 6_001, lastHeartbeat: 1_000 });
    expect(quietNode.seen.evicted).toBe(0);
    await quietNode.agent.tick();
    expect(quietNode.seen.evicted).toBe(1);
    expect(quietNode.agent.leader()).toBeNull();
  });
});
