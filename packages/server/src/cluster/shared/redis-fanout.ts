import { compareFanoutIds, type Fanout, type FanoutMessage } from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../redis.js';
import { throttledReport, withDeadline } from './deadline.js';

/** Options of `createRedisFanout`. */
export interface RedisFanoutOptions {
  /** For XADD and the replay reads. */
  redis: Redis;
  /** A connection of its own (`openRedis(…, { blocking: true })`) for XREAD BLOCK. */
  reader: Redis;
  /** Approximate messages kept per topic (XADD MAXLEN ~); default 10,000. */
  maxLen?: number;
  /** A topic nobody publishes to for this long is deleted (per topic when a function); default 24 h. */
  idleTtlMs?: number | ((topic: string) => number);
  /** Longest a publish may wait for Redis before it fails; default 1 s. */
  timeoutMs?: number;
  /** Longest one XREAD blocks; default 5 s (a new subscription wakes it at once). */
  blockMs?: number;
  onError?: (err: unknown, what: string) => void;
}

interface Sub {
  lastId: string;
  listener: (msg: FanoutMessage) => void;
}

interface Topic {
  cursor: string;
  subs: Set<Sub>;
}

/**
 * Fan-out over Redis Streams: a topic is the stream `hangar:bus:<topic>`, a message one entry `d`, its id
 * Redis's entry id. Each node reads every topic it has subscribers for with one XREAD BLOCK on its own
 * connection, from the oldest cursor among them, and hands each subscriber only what is past its last id.
 * After a Redis restart or reconnect the reader resumes from its cursors, so nothing retained is skipped.
 */
export function createRedisFanout(opts: RedisFanoutOptions): Fanout {
  const { redis, reader } = opts;
  const maxLen = opts.maxLen ?? 10_000;
  const ttl = opts.idleTtlMs ?? 86_400_000;
  const idleTtlMs = typeof ttl === 'number' ? () => ttl : ttl;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const blockMs = opts.blockMs ?? 5000;
  const report = throttledReport(opts.onError ?? (() => {}));
  const topics = new Map<string, Topic>();
  const keyOf = (topic: string) => `${KEY_PREFIX}bus:${topic}`;
  let closed = false;
  let readerId: number | null = null;
  let blocked = false;
  /** Cursors changed since the running XREAD was built. */
  let dirty = false;
  let wake: (() => void) | null = null;
  reader.on('close', () => {
    readerId = null;
  });

  /** Gets the reader out of its XREAD (or out of its idle wait) so it picks up new cursors. */
  const interrupt = () => {
    wake?.();
    if (!blocked || readerId === null) return;
    // An UNBLOCK that overtakes the XREAD it meant finds nothing blocked (0): try again shortly.
    redis.client('UNBLOCK', readerId).then(
      (n) => {
        if (Number(n) === 0 && dirty && blocked) setTimeout(interrupt, 10);
      },
      () => {},
    );
  };

  const deliver = (topic: Topic, entries: [string, string[]][]) => {
    for (const [id, fields] of entries) {
      const msg = { id, data: fields[1] ?? '' };
      for (const sub of topic.subs) {
        if (compareFanoutIds(id, sub.lastId) <= 0) continue;
        sub.lastId = id;
        sub.listener(msg);
      }
      topic.cursor = id;
    }
  };

  const readOnce = async () => {
    if (topics.size === 0) {
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = null;
      return;
    }
    readerId ??= Number(await reader.client('ID'));
    dirty = false;
    const names = [...topics.keys()];
    if (names.length === 0) return;
    const cursors = names.map((n) => topics.get(n)!.cursor);
    blocked = true;
    const keys = names.map(keyOf);
    const res = await reader
      .xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', ...keys, ...cursors)
      .finally(() => {
        blocked = false;
      });
    for (const [key, entries] of res ?? []) {
      const topic = topics.get(key.slice(KEY_PREFIX.length + 4));
      if (topic) deliver(topic, entries);
    }
  };

  const loop = async () => {
    while (!closed) {
      try {
        await readOnce();
      } catch (err) {
        if (closed) return;
        // An UNBLOCK answers with an error only when given ERROR; anything else is the engine failing.
        report(err, 'fan-out reader retrying');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const running = loop();

  const join = (name: string, sub: Sub) => {
    let topic = topics.get(name);
    if (!topic) {
      topic = { cursor: sub.lastId, subs: new Set() };
      topics.set(name, topic);
    } else if (compareFanoutIds(sub.lastId, topic.cursor) < 0) {
      topic.cursor = sub.lastId;
    }
    topic.subs.add(sub);
    dirty = true;
    interrupt();
  };

  return {
    async publish(topic, data) {
      const key = keyOf(topic);
      const tx = redis
        .multi()
        .xadd(key, 'MAXLEN', '~', maxLen, '*', 'd', data)
        .pexpire(key, idleTtlMs(topic));
      const res = await withDeadline(tx.exec(), timeoutMs, 'a fan-out publish');
      const added = res?.[0];
      if (!added || added[0]) throw added?.[0] ?? new Error('fan-out publish was discarded');
      return String(added[1]);
    },
    subscribe(topic, afterId, listener) {
      let left = false;
      const sub: Sub = { lastId: afterId ?? '0-0', listener };
      const start = async () => {
        // From now on: after the topic's newest entry, read again until Redis answers.
        while (afterId === null && !left && !closed) {
          try {
            const last = await withDeadline(
              redis.xrevrange(keyOf(topic), '+', '-', 'COUNT', 1),
              timeoutMs,
              'a fan-out subscription',
            );
            sub.lastId = last[0]?.[0] ?? '0-0';
            break;
          } catch (err) {
            report(err, 'a fan-out subscription waits for Redis');
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        if (!left && !closed) join(topic, sub);
      };
      void start();
      return () => {
        left = true;
        const t = topics.get(topic);
        if (!t) return;
        t.subs.delete(sub);
        if (t.subs.size === 0) topics.delete(topic);
      };
    },
    async close() {
      closed = true;
      topics.clear();
      interrupt();
      wake?.();
      await Promise.race([running, new Promise((r) => setTimeout(r, 100))]);
    },
  };
}
