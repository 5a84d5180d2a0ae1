import { afterAll, beforeAll, describe } from 'vitest';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { MemoryWorkQueue } from './memory-work-queue.js';
import { RedisWorkQueue } from './redis-work-queue.js';
import { describeWorkQueueContract } from './work-queue-contract.test-helper.js';

describeWorkQueueContract('memory', async (count) => {
  const shared = new MemoryWorkQueue();
  return Array.from({ length: count }, () => shared);
});

describe.skipIf(redisMissing !== null)('redis', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.close();
  });
  describeWorkQueueContract('redis', async (count) => {
    const first = openRedis(server.url, { name: 'test:q0' });
    await first.flushall();
    const rest = Array.from({ length: count - 1 }, (_, i) =>
      openRedis(server.url, { name: `test:q${i + 1}` }),
    );
    return [first, ...rest].map((r) => new RedisWorkQueue(r));
  });
});
