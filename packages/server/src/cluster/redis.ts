import { Redis, type RedisOptions } from 'ioredis';

/** Options of `openRedis`. */
export interface OpenRedisOptions {
  /** Shown in `CLIENT LIST` (`hangar:<node>:<role>`), so an operator can tell connections apart. */
  name: string;
  /**
   * A connection that blocks (`XREAD BLOCK`, `BLPOP`) or subscribes must be its own: pass `blocking` so
   * commands are never queued behind a blocked one and a reconnect re-issues nothing stale.
   */
  blocking?: boolean;
}

/**
 * One connection to the cluster's Redis (`HANGAR_REDIS_URL`). Reconnects for ever with a capped backoff;
 * commands issued while disconnected wait (up to the offline queue) instead of failing at once, and a
 * command that waited through three reconnect attempts fails, so callers see an outage as an error they can
 * answer with 503 rather than hang.
 */
export function openRedis(url: string, opts: OpenRedisOptions): Redis {
  const options: RedisOptions = {
    connectionName: opts.name.replace(/[^A-Za-z0-9:._-]/g, '_'),
    maxRetriesPerRequest: opts.blocking ? null : 3,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    lazyConnect: false,
  };
  return new Redis(url, options);
}

/** Every key Hangar writes starts with this, so a shared Redis can hold other applications' keys too. */
export const KEY_PREFIX = 'hangar:';
