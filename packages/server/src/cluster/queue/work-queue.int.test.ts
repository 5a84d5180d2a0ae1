import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../runners/supervisor.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { MemoryWorkQueue } from './memory-work-queue.js';
import { RedisWorkQueue } from './redis-work-queue.js';
import { describeWorkQueueContract, work } from './work-queue-contract.test-helper.js';

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

describe.skipIf(redisMissing !== null)('redis outage', () => {
  it('answers QUEUE_UNAVAILABLE with Retry-After while Redis does not answer, and works again after', async () => {
    const server = await startRedis();
    const q = new RedisWorkQueue(openRedis(server.url, { name: 'test:outage' }), 300);
    try {
      const w = work({ sentAt: 1 });
      await q.enqueue(w);
      server.freeze();
      const err = await q.length('alice', 'app').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'QUEUE_UNAVAILABLE', status: 503, headers: { 'retry-after': '2' } });
      await expect(q.position('nope')).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
      server.thaw();
      expect(await q.length('alice', 'app')).toBe(1);
      await server.kill();
      await expect(q.claim('alice', 'app', 'n1', 1000, 0)).rejects.toMatchObject({
        code: 'QUEUE_UNAVAILABLE',
      });
      await server.start();
      // Append-only with fsync always: the acknowledged entry survived the kill (queued, or claimed by the
      // claim given up on above, which ran once the connection was back: its lease will lapse).
      const st = await until(async () => (await q.state(w.requestId).catch(() => null))?.state);
      expect(['queued', 'claimed']).toContain(st);
    } finally {
      await q.close();
      await server.close();
    }
  });
});
