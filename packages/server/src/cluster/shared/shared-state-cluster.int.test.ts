// Several nodes (each with its own Redis connections) over one real redis-server: shared budgets, dead
// nodes' slots, revocations seen by the other nodes, fan-out across nodes and through a Redis restart.
import type { LogLine } from '@hangar/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../http/auth.js';
import { createKeyService } from '../../services/keys.js';
import { createMemoryStores } from '../../store/memory/index.js';
import { waitFor } from '../../test-services/ports.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { createFanoutLogBus } from './fanout-log-bus.js';
import { createRedisFanout } from './redis-fanout.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { createRedisRevocations } from './redis-revocations.js';
import { createRedisStreamSlots } from './redis-stream-slots.js';

describe.skipIf(redisMissing !== null)('shared state across nodes on Redis', () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  const conn = (blocking = false) => {
    const c = openRedis(server.url, { name: 'hangar:test:cluster', blocking });
    conns.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await server?.close();
  });

  it('draws one budget per key whichever node takes', async () => {
    const opts = { requestsPerSecond: 0.5, burst: 4 };
    const a = createRedisRateLimiter({ redis: conn(), ...opts });
    const b = createRedisRateLimiter({ redis: conn(), ...opts });
    const waits = [await a.take('key:k1'), await b.take('key:k1'), await a.take('key:k1')];
    waits.push(await b.take('key:k1'), await a.take('key:k1'), await b.take('key:k1'));
    expect(waits.filter((w) => w === 0)).toHaveLength(4);
    expect(waits.slice(4).every((w) => w >= 1)).toBe(true);
  });

  it("caps a key's streams across nodes and frees a dead node's slots after its lease", async () => {
    const deadConn = conn();
    const dead = createRedisStreamSlots({ redis: deadConn, max: 2, nodeId: 'a', leaseMs: 600 });
    const alive = createRedisStreamSlots({ redis: conn(), max: 2, nodeId: 'b', leaseMs: 600 });
    expect(await dead.acquire('key:s1')).not.toBeNull();
    expect(await alive.acquire('key:s1')).not.toBeNull();
    expect(await alive.acquire('key:s1')).toBeNull();
    // Node a dies: no release, no refresh. Node b's own slot outlives many leases because b refreshes it.
    deadConn.disconnect();
    await waitFor(async () => (await alive.countFor('key:s1')) === 1, { timeoutMs: 5000, what: 'lease end' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await alive.countFor('key:s1')).toBe(1);
    expect(await alive.acquire('key:s1')).not.toBeNull();
    expect(await alive.acquire('key:s1')).toBeNull();
    await alive.close();
    expect(await alive.countFor('key:s1')).toBe(0);
  });

  /** Two nodes over one key store, each with its own authenticator and Redis connections. */
  async function twoNodes() {
    const stores = createMemoryStores();
    const node = () => {
      const revocations = createRedisRevocations({ redis: conn(), subscriber: conn(true) });
      const auth = createAuthenticator(stores.keys, Date.now, revocations);
      return {
        revocations,
        auth,
        keys: createKeyService({ keys: stores.keys, clock: Date.now, authenticator: auth }),
      };
    };
    const a = node();
    const b = node();
    await waitFor(() => a.revocations.reliable() && b.revocations.reliable(), {
      timeoutMs: 3000,
      what: 'feeds',
    });
    const created = await a.keys.createKey('acme', 'API');
    const header = `Key ${created.key}`;
    await a.auth.authenticate(header);
    await b.auth.authenticate(header);
    expect(b.auth.cached(header)).not.toBeNull();
    return { stores, a, b, created, header };
  }
  const refused = (auth: ReturnType<typeof createAuthenticator>, header: string) => async () =>
    auth.cached(header) === null &&
    (await auth.authenticate(header).then(
      () => false,
      () => true,
    ));

  it('refuses a key revoked through another node within 1 s', async () => {
    const { a, b, created, header } = await twoNodes();
    await a.keys.revokeKey('acme', created.keyId);
    await waitFor(refused(b.auth, header), { timeoutMs: 1000, what: 'node b to refuse the revoked key' });
    await a.revocations.close();
    await b.revocations.close();
  });

  it('forgets every cached key when the epoch shows a lost announcement', async () => {
    const { stores, b, created, header } = await twoNodes();
    await stores.keys.revokeKey(created.keyId, Date.now());
    await conn().incr('hangar:keys:epoch');
    await waitFor(refused(b.auth, header), { timeoutMs: 1000, what: 'the epoch backstop' });
    await b.revocations.close();
  });

  it('fans messages out to every node and resumes after an id on another node', async () => {
    const a = createRedisFanout({ redis: conn(), reader: conn(true) });
    const b = createRedisFanout({ redis: conn(), reader: conn(true) });
    const c = createRedisFanout({ redis: conn(), reader: conn(true) });
    const onB: string[] = [];
    const offB = b.subscribe('status:r1', null, (m) => onB.push(`${m.id} ${m.data}`));
    await new Promise((r) => setTimeout(r, 100));
    for (const d of ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']) await a.publish('status:r1', d);
    await waitFor(() => onB.length === 3, { timeoutMs: 3000, what: 'node b to see three changes' });
    // The client saw the first event on node b, then reconnects to node c with its id.
    const seen = onB[0]!.split(' ')[0]!;
    const onC: string[] = [];
    c.subscribe('status:r1', seen, (m) => onC.push(m.data));
    await waitFor(() => onC.length === 2, { timeoutMs: 3000, what: 'node c to replay' });
    expect(onC).toEqual(['IN_PROGRESS', 'COMPLETED']);
    offB();
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('carries log lines of one node to the streams of another, once each', async () => {
    const fa = createRedisFanout({ redis: conn(), reader: conn(true) });
    const fb = createRedisFanout({ redis: conn(), reader: conn(true) });
    const busA = createFanoutLogBus({ fanout: fa, topic: 'logs-test' });
    const busB = createFanoutLogBus({ fanout: fb, topic: 'logs-test' });
    const onA: LogLine[] = [];
    const onB: LogLine[] = [];
    busA.subscribe((l) => onA.push(...l));
    busB.subscribe((l) => onB.push(...l));
    await new Promise((r) => setTimeout(r, 100));
    const line = (id: number): LogLine => ({
      id,
      ts: Date.now(),
      owner: 'acme',
      app: 'x',
      revision: 'r',
      level: 'INFO',
      message: `m${id}`,
      labels: {},
    });
    busA.publish([line(1), line(2)]);
    busB.publish([line(3)]);
    await waitFor(() => onA.length === 3 && onB.length === 3, { timeoutMs: 3000, what: 'both buses' });
    await new Promise((r) => setTimeout(r, 100));
    expect(onA.map((l) => l.id).sort()).toEqual([1, 2, 3]);
    expect(onB.map((l) => l.id).sort()).toEqual([1, 2, 3]);
    busA.close();
    busB.close();
    await Promise.all([fa.close(), fb.close()]);
  });

  it('keeps delivering through a Redis restart without skipping what was published', async () => {
    const pub = createRedisFanout({ redis: conn(), reader: conn(true) });
    const sub = createRedisFanout({ redis: conn(), reader: conn(true) });
    const got: string[] = [];
    sub.subscribe('events:acme', null, (m) => got.push(m.data));
    await new Promise((r) => setTimeout(r, 100));
    await pub.publish('events:acme', 'one');
    await waitFor(() => got.length === 1, { timeoutMs: 3000, what: 'the first event' });
    await server.kill();
    await server.start();
    await waitFor(
      async () =>
        pub.publish('events:acme', 'two').then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 10_000,
        what: 'Redis to take a publish again',
      },
    );
    await pub.publish('events:acme', 'three');
    await waitFor(() => got.length >= 3, { timeoutMs: 10_000, what: 'events after the restart' });
    expect(got).toEqual(['one', 'two', 'three']);
    await Promise.all([pub.close(), sub.close()]);
  });
});
