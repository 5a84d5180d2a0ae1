import { createHash } from 'node:crypto';
import type { IdempotencyKeys } from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../redis.js';
import { throttledReport, withDeadline } from './deadline.js';

/** Options of `createRedisIdempotencyKeys`. */
export interface RedisIdempotencyOptions {
  redis: Redis;
  /** How long a key is remembered; default 10 minutes (fal keeps flush-queue answers that long). */
  ttlMs?: number;
  /** Longest a command may wait for Redis; default 250 ms. */
  timeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Idempotency keys in Redis (`hangar:idem:<sha256>`, expiring after `ttlMs`), seen by every node. While
 * Redis does not answer, a key reads as unseen: the operation is done again, as the caller asked.
 */
export function createRedisIdempotencyKeys(opts: RedisIdempotencyOptions): IdempotencyKeys {
  const ttlMs = opts.ttlMs ?? 600_000;
  const timeoutMs = opts.timeoutMs ?? 250;
  const report = throttledReport(opts.onError ?? (() => {}));
  const keyOf = (key: string) => `${KEY_PREFIX}idem:${createHash('sha256').update(key).digest('hex')}`;
  return {
    async seen(key) {
      try {
        return (await withDeadline(opts.redis.exists(keyOf(key)), timeoutMs, 'an idempotency check')) === 1;
      } catch (err) {
        report(err, 'idempotency keys read as unseen while Redis is unreachable');
        return false;
      }
    },
    async record(key) {
      try {
        await withDeadline(opts.redis.set(keyOf(key), '1', 'PX', ttlMs), timeoutMs, 'an idempotency record');
      } catch (err) {
        report(err, 'an idempotency key was not recorded while Redis is unreachable');
      }
    },
  };
}
