// A status stream on one node follows a request running on another: status events once each and in
// order, the request's log lines with logs=1, the end after COMPLETED, and a resume by Last-Event-ID on a
// third node. Run over the in-process fan-out and over a real redis-server.
import type { Fanout, LogBus, LogLine } from '@hangar/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogBus } from '../../runners/log-bus.js';
import { waitFor } from '../../test-services/ports.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { createFanoutLogBus } from './fanout-log-bus.js';
import { createMemoryFanout } from './memory-fanout.js';
import { createRedisFanout } from './redis-fanout.js';
import { createRequestStatusFeed } from './status-feed.js';

interface Node {
  fanout: Fanout;
  logBus: LogBus;
}

function describeStatusFeed(name: string, node: () => Node) {
  describe(`request status feed: ${name}`, () => {
    it('follows a request running on another node to its end, and resumes after an event id', async () => {
      const a = node();
      const b = node();
      const c = node();
      const running = createRequestStatusFeed(a);
      const body = (status: string) => ({ status, request_id: 'r1', logs: null });
      const events: { id: string | null; body: Record<string, unknown> }[] = [];
      let ended = false;
      const sink = {
        write(chunk: string) {
          if (chunk.startsWith(':')) return;
          const id = /^id: (.*)$/m.exec(chunk)?.[1] ?? null;
          events.push({ id, body: JSON.parse(/^data: (.*)$/m.exec(chunk)![1]!) });
        },
        end: () => {
          ended = true;
        },
      };
      const toLog = (l: LogLine) => ({ message: l.message });
      createRequestStatusFeed(b).follow('r1', null, sink, {
        initial: body('IN_QUEUE'),
        withLogs: true,
        toLog,
      });
      await new Promise((r) => setTimeout(r, 150));
      running.changed('r1', 'IN_QUEUE', () => body('IN_QUEUE'));
      running.changed('r1', 'IN_PROGRESS', () => body('IN_PROGRESS'));
      await waitFor(() => events.length === 2, { timeoutMs: 3000, what: 'IN_PROGRESS on node b' });
      const line = (message: string, request: string): LogLine => ({
        ts: Date.now(),
        owner: 'acme',
        app: 'x',
        revision: 'r',
        level: 'INFO',
        message,
        labels: { fal_request_id: request },
      });
      a.logBus.publish([line('working', 'r1'), line('someone else', 'r2')]);
      await waitFor(() => events.length === 3, { timeoutMs: 3000, what: 'the log line on node b' });
      running.changed('r1', 'IN_PROGRESS', () => body('IN_PROGRESS'));
      running.changed('r1', 'COMPLETED', () => body('COMPLETED'));
      await waitFor(() => ended, { timeoutMs: 3000, what: 'the stream to end' });
      expect(events.map((e) => e.body['status'])).toEqual([
        'IN_QUEUE',
        'IN_PROGRESS',
        'IN_PROGRESS',
        'COMPLETED',
      ]);
      expect(events[2]!.body['logs']).toEqual([{ message: 'working' }]);
      expect(events[1]!.body['logs']).toEqual([]);
      expect(events[0]!.id).toBeNull();

      // The client saw IN_PROGRESS, lost its connection and reconnects to node c.
      const resumed: string[] = [];
      let resumedEnded = false;
      const resumeSink = {
        write: (chunk: string) => {
          if (!chunk.startsWith(':')) resumed.push(JSON.parse(/^data: (.*)$/m.exec(chunk)![1]!).status);
        },
        end: () => {
          resumedEnded = true;
        },
      };
      const opts = { initial: body('IN_PROGRESS'), withLogs: false, toLog };
      createRequestStatusFeed(c).follow('r1', events[1]!.id, resumeSink, opts);
      await waitFor(() => resumedEnded, { timeoutMs: 3000, what: 'the resumed stream to end' });
      expect(resumed).toEqual(['COMPLETED']);
    });
  });
}

const memory = createMemoryFanout();
const localBus = createLogBus();
describeStatusFeed('in-process', () => ({ fanout: memory, logBus: localBus }));

describe.skipIf(redisMissing !== null)('on Redis', () => {
  let server: RedisTestServer;
  const conns: Redis[] = [];
  const conn = (blocking = false) => {
    const c = openRedis(server.url, { name: 'hangar:test:status', blocking });
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
  describeStatusFeed('Redis', () => {
    const fanout = createRedisFanout({ redis: conn(), reader: conn(true) });
    return { fanout, logBus: createFanoutLogBus({ fanout }) };
  });
});
