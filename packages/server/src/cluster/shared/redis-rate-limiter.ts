import type { RateLimiter } from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../redis.js';
import { throttledReport, withDeadline } from './deadline.js';

// One token bucket per key in a hash {tokens, at}, refilled and taken in one script on Redis's own clock,
// so every node draws from the same bucket in one round trip and node clocks never matter.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate / 1000))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
`;

/** Options of `createRedisRateLimiter`. */
export interface RedisRateLimiterOptions {
  redis: Redis;
  requestsPerSecond: number;
  burst: number;
  /** Longest a take may wait for Redis before the request is let through (fail open); default 250 ms. */
  timeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

type WithTake = Redis & { hangarTakeToken(key: string, rate: number, burst: number): Promise<number> };

/**
 * Token buckets in Redis (`hangar:rl:<key>`), shared by every node. When Redis does not answer in time the
 * request is allowed: an outage of Redis must not take the API down with it (documented, fail open).
 */
export function createRedisRateLimiter(opts: RedisRateLimiterOptions): RateLimiter {
  const redis = opts.redis as WithTake;
  if (typeof redis.hangarTakeToken !== 'function') {
    redis.defineCommand('hangarTakeToken', { numberOfKeys: 1, lua: TAKE });
  }
  const rate = opts.requestsPerSecond / 1000;
  const burst = Math.max(1, opts.burst);
  const timeoutMs = opts.timeoutMs ?? 250;
  const report = throttledReport(opts.onError ?? (() => {}));
  return {
    async take(key) {
      try {
        const work = redis.hangarTakeToken(`${KEY_PREFIX}rl:${key}`, rate, burst);
        return Number(await withDeadline(work, timeoutMs, 'a rate-limit take'));
      } catch (err) {
        report(err, 'rate limits fail open while Redis is unreachable');
        return 0;
      }
    },
    close: async () => {},
  };
}
