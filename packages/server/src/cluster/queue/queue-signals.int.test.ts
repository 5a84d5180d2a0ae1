import type { QueueSignals } from '@hangar/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../../runners/supervisor.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { MemoryQueueSignals, RedisQueueSignals } from './queue-signals.js';

/** The behaviour every `QueueSignals` keeps; `open` gives `count` handles on one message space. */
function describeSignalsContract(name: string, open: (count: number) => Promise<QueueSignals[]>): void {
  describe(`QueueSignals contract: ${name}`, () => {
    let handles: QueueSignals[] = [];
    beforeEach(async () => {
      handles = await open(2);
    });
    afterEach(async () => {
      for (const h of handles) await h.close();
    });

    it('delivers to the named node only, and `*` to every node', async () => {
      const [one, two] = handles as [QueueSignals, QueueSignals];
      const got: Record<string, string[]> = { a: [], b: [] };
      await one.listen('a', (m) => got['a']!.push(m));
      await two.listen('b', (m) => got['b']!.push(m));
      await two.send('a', 'to-a');
      await one.send('*', 'to-all');
      await until(() => got['a']!.length === 2 && got['b']!.length === 1);
      expect(got['a']!.sort()).toEqual(['to-a', 'to-all']);
      expect(got['b']).toEqual(['to-all']);
    });

    it('stops delivering once the listener is removed', async () => {
      const [one, two] = handles as [QueueSignals, QueueSignals];
      const got: string[] = [];
      const marks: string[] = [];
      const stop = await one.listen('a', (m) => got.push(m));
      await one.listen('a', (m) => marks.push(m));
      stop();
      await two.send('a', 'after');
      await until(() => marks.length === 1);
      expect(got).toEqual([]);
    });
  });
}

describeSignalsContract('memory', async (count) => {
  const shared = new MemoryQueueSignals();
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
  describeSignalsContract('redis', async (count) =>
    Array.from(
      { length: count },
      (_, i) =>
        new RedisQueueSignals(
          openRedis(server.url, { name: `test:pub${i}` }),
          openRedis(server.url, { name: `test:sub${i}`, blocking: true }),
        ),
    ),
  );
});
