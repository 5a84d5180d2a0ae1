import { randomBytes } from 'node:crypto';
import type { SlotRelease, StreamSlots } from '@hangar/core';
import type { Redis } from 'ioredis';
import { createStreamSlots } from '../../http/stream-slots.js';
import { KEY_PREFIX } from '../redis.js';
import { throttledReport, withDeadline } from './deadline.js';

// A holder's open streams are members of a sorted set scored by lease expiry (Redis's clock). Expired
// leases are dropped before counting, so the slots of a node that died free themselves after one lease.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1`;
const REFRESH = `${NOW}
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease * 2)
end
return #KEYS`;
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

type WithSlots = Redis & {
  hangarSlotAcquire(key: string, max: number, member: string, leaseMs: number): Promise<number>;
  hangarSlotRefresh(n: number, ...keysThenArgs: (string | number)[]): Promise<number>;
  hangarSlotCount(key: string): Promise<number>;
};

/** Options of `createRedisStreamSlots`. */
export interface RedisStreamSlotsOptions {
  redis: Redis;
  max: number;
  /** This node, in slot member names so an operator can see whose streams a key holds. */
  nodeId: string;
  /** A slot not refreshed for this long is free again; default 30 s (refreshed every third of it). */
  leaseMs?: number;
  /** Longest a command may wait for Redis before the per-node fallback answers; default 250 ms. */
  timeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Stream caps per holder across nodes (`hangar:slots:<holder>`). While Redis is unreachable each node
 * falls back to its own in-process count (fail open to a per-node cap), and leases taken then are not
 * counted cluster-wide.
 */
export function createRedisStreamSlots(opts: RedisStreamSlotsOptions): StreamSlots {
  const redis = opts.redis as WithSlots;
  if (typeof redis.hangarSlotAcquire !== 'function') {
    redis.defineCommand('hangarSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    redis.defineCommand('hangarSlotRefresh', { lua: REFRESH });
    redis.defineCommand('hangarSlotCount', { numberOfKeys: 1, lua: COUNT });
  }
  const leaseMs = opts.leaseMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 250;
  const report = throttledReport(opts.onError ?? (() => {}));
  const fallback = createStreamSlots(opts.max);
  const prefix = `${opts.nodeId}:${randomBytes(4).toString('hex')}:`;
  let seq = 0;
  /** Slots this node holds in Redis: member → key. */
  const held = new Map<string, string>();
  const keyOf = (holder: string) => `${KEY_PREFIX}slots:${holder}`;

  const refresh = async () => {
    if (held.size === 0) return;
    const keys = [...held.values()];
    const work = redis.hangarSlotRefresh(keys.length, ...keys, leaseMs, ...held.keys());
    await withDeadline(work, timeoutMs * 4, 'a stream-slot refresh').catch((err) =>
      report(err, 'stream slots could not be refreshed'),
    );
  };
  const timer = setInterval(refresh, Math.max(50, Math.floor(leaseMs / 3)));
  timer.unref();

  return {
    max: opts.max,
    async acquire(holder) {
      const key = keyOf(holder);
      const member = `${prefix}${++seq}`;
      let granted: number;
      try {
        const work = redis.hangarSlotAcquire(key, opts.max, member, leaseMs);
        granted = Number(await withDeadline(work, timeoutMs, 'a stream-slot acquire'));
      } catch (err) {
        report(err, 'stream caps fall back to this node while Redis is unreachable');
        return fallback.acquireNow(holder);
      }
      if (granted !== 1) return null;
      held.set(member, key);
      let released = false;
      const release: SlotRelease = () => {
        if (released) return;
        released = true;
        held.delete(member);
        // A release Redis misses only keeps the slot until its lease runs out.
        redis.zrem(key, member).catch((err) => report(err, 'a stream slot waits for its lease to end'));
      };
      return release;
    },
    async countFor(holder) {
      try {
        const work = redis.hangarSlotCount(keyOf(holder));
        return Number(await withDeadline(work, timeoutMs, 'a stream-slot count'));
      } catch {
        return fallback.countNow(holder);
      }
    },
    async close() {
      clearInterval(timer);
      const slots = [...held];
      held.clear();
      if (slots.length === 0) return;
      const pipe = redis.pipeline();
      for (const [member, key] of slots) pipe.zrem(key, member);
      await withDeadline(pipe.exec(), timeoutMs * 4, 'releasing stream slots').catch(() => {});
    },
  };
}
