// Redis frozen (SIGSTOP: connections open, nothing answers): rate limits and stream caps fail open, key
// checks fall back to the store on every request, and no call waits for Redis longer than its deadline.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../http/auth.js';
import { createKeyService } from '../../services/keys.js';
import { createMemoryStores } from '../../store/memory/index.js';
import { waitFor } from '../../test-services/ports.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { createRedisRevocations } from './redis-revocations.js';
import { createRedisStreamSlots } from './redis-stream-slots.js';

describe.skipIf(redisMissing !== null)('shared state while Redis does not answer', () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  const conn = (blocking = false) => {
    const c = openRedis(server.url, { name: 'hangar:test:outage', blocking });
    conns.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    server?.thaw();
    for (const c of conns) c.disconnect();
    await server?.close();
  });

  it('fails open, verifies keys against the store, and recovers when Redis answers again', async () => {
    const limiter = createRedisRateLimiter({ redis: conn(), requestsPerSecond: 0.1, burst: 1 });
    const slots = createRedisStreamSlots({ redis: conn(), max: 1, nodeId: 'n', leaseMs: 60_000 });
    const stores = createMemoryStores();
    const revocations = createRedisRevocations({ redis: conn(), subscriber: conn(true) });
    const auth = createAuthenticator(stores.keys, Date.now, revocations);
    const keys = createKeyService({ keys: stores.keys, clock: Date.now, authenticator: auth });
    await waitFor(() => revocations.reliable(), { timeoutMs: 3000, what: 'a reliable feed' });
    const created = await keys.createKey('acme', 'API');
    const header = `Key ${created.key}`;
    await auth.authenticate(header);
    expect(auth.cached(header)).not.toBeNull();
    expect(await limiter.take('key:o')).toBe(0);
    expect(await limiter.take('key:o')).toBeGreaterThan(0);

    server.freeze();
    expect(await limiter.take('key:o')).toBe(0);
    const release = await slots.acquire('key:o');
    expect(release).not.toBeNull();
    // The per-node fallback still caps this node.
    expect(await slots.acquire('key:o')).toBeNull();
    release!();
    await waitFor(() => !revocations.reliable(), { timeoutMs: 3000, what: 'the feed to be unreliable' });
    expect(auth.cached(header)).toBeNull();
    // Revoked in the store only (no announcement can get through): refused on the next request.
    await stores.keys.revokeKey(created.keyId, Date.now());
    await expect(auth.authenticate(header)).rejects.toMatchObject({ code: 'AUTH_INVALID' });

    server.thaw();
    await waitFor(() => revocations.reliable(), { timeoutMs: 5000, what: 'the feed to recover' });
    expect(await limiter.take('key:o')).toBeGreaterThan(0);
    await slots.close();
    await revocations.close();
  });
});
