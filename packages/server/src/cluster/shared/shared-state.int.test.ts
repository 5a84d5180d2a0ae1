// The shared-state contract suites on the in-process adapters and on a real redis-server.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { createLocalIdempotencyKeys } from '../../api/apps/idempotency.js';
import { createStreamSlots } from '../../http/stream-slots.js';
import { createLocalRateLimiter } from '../../telemetry/rate-limit.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { createLocalRevocations } from './local-revocations.js';
import { createMemoryFanout } from './memory-fanout.js';
import { createRedisFanout } from './redis-fanout.js';
import { createRedisIdempotencyKeys } from './redis-idempotency.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { createRedisRevocations } from './redis-revocations.js';
import { createRedisStreamSlots } from './redis-stream-slots.js';
import {
  describeFanoutContract,
  describeIdempotencyContract,
  describeRateLimiterContract,
  describeRevocationsContract,
  describeStreamSlotsContract,
} from './shared-state-contract.test-helper.js';

const RATE = { requestsPerSecond: 20, burst: 3 };
const none = async () => {};

describeRateLimiterContract('in-process', async () => ({ port: createLocalRateLimiter(RATE), close: none }));
describeStreamSlotsContract('in-process', async () => ({ port: createStreamSlots(2), close: none }));
const local = createLocalRevocations();
describeRevocationsContract('in-process', async () => ({ port: local, close: none }));
describeIdempotencyContract('in-process', async () => ({
  port: createLocalIdempotencyKeys(300),
  close: none,
}));
const memory = createMemoryFanout();
describeFanoutContract('in-process', async () => ({ port: memory, close: none }));

describe.skipIf(redisMissing !== null)('on Redis', () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  const conn = (blocking = false) => {
    const c = openRedis(server.url, { name: 'hangar:test:shared', blocking });
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

  describeRateLimiterContract('Redis', async () => ({
    port: createRedisRateLimiter({ redis: conn(), ...RATE }),
    close: none,
  }));
  describeStreamSlotsContract('Redis', async () => {
    const port = createRedisStreamSlots({ redis: conn(), max: 2, nodeId: 'n1' });
    return { port, close: () => port.close() };
  });
  describeRevocationsContract('Redis', async () => {
    const port = createRedisRevocations({ redis: conn(), subscriber: conn(true) });
    return { port, close: () => port.close() };
  });
  describeIdempotencyContract('Redis', async () => ({
    port: createRedisIdempotencyKeys({ redis: conn(), ttlMs: 300 }),
    close: none,
  }));
  describeFanoutContract('Redis', async () => {
    const port = createRedisFanout({ redis: conn(), reader: conn(true) });
    return { port, close: () => port.close() };
  });
});
