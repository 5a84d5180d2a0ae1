import type {
  Fanout,
  IdempotencyKeys,
  KeyRevocations,
  LogBus,
  RateLimiter,
  RequestStatusFeed,
  StreamSlots,
} from '@hangar/core';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { createStreamSlots } from '../../http/stream-slots.js';
import { createLogBus } from '../../runners/log-bus.js';
import { openRedis } from '../redis.js';
import { createFanoutLogBus } from './fanout-log-bus.js';
import { createMemoryFanout } from './memory-fanout.js';
import { createRedisFanout } from './redis-fanout.js';
import { createRedisIdempotencyKeys } from './redis-idempotency.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { createRedisRevocations } from './redis-revocations.js';
import { createRedisStreamSlots } from './redis-stream-slots.js';
import { createRequestStatusFeed } from './status-feed.js';

/** The per-process state a node shares with the others (or keeps to itself on one machine). */
export interface SharedState {
  logBus: LogBus;
  streams: StreamSlots;
  fanout: Fanout;
  /** Undefined on one machine: the rate-limit hook keeps its in-process buckets. */
  rateLimiter: RateLimiter | undefined;
  /** Undefined on one machine: a revoke reaches the only authenticator directly. */
  revocations: KeyRevocations | undefined;
  /** Undefined on one machine: the flush route keeps its in-process keys. */
  idempotency: IdempotencyKeys | undefined;
  /** Undefined on one machine: every request's status stream is served by the node running it. */
  statusFeed: RequestStatusFeed | undefined;
  /** Where the state lives, for the start-up log. */
  readonly engine: 'process' | 'redis';
  close(): Promise<void>;
}

/** Only what is logged: a warning per failing engine, throttled by the adapters. */
interface WarnLogger {
  warn(obj: { err: unknown }, msg: string): void;
}

/**
 * Picks the shared-state adapters: Redis when `HANGAR_REDIS_URL` is set (a cluster), else this process's
 * memory exactly as on one machine. A node opens three Redis connections for this: commands, the
 * revocation subscription and the fan-out reader (both block, so each is its own).
 */
export function openSharedState(config: Config, logger: WarnLogger): SharedState {
  const max = config.limits.maxSseStreamsPerKey;
  if (config.redisUrl === null) {
    return {
      logBus: createLogBus(),
      streams: createStreamSlots(max),
      fanout: createMemoryFanout(),
      rateLimiter: undefined,
      revocations: undefined,
      statusFeed: undefined,
      idempotency: undefined,
      engine: 'process',
      close: async () => {},
    };
  }
  const url = config.redisUrl;
  const node = config.nodeId;
  const onError = (err: unknown, what: string) => logger.warn({ err }, what);
  const conns: Redis[] = [];
  const open = (role: string, blocking: boolean) => {
    const c = openRedis(url, { name: `hangar:${node}:${role}`, blocking });
    // Errors surface through the commands that fail; ioredis would otherwise print each reconnect.
    c.on('error', () => {});
    conns.push(c);
    return c;
  };
  const redis = open('shared', false);
  // A request's status topic lives as long as its result stays readable.
  const resultTtlMs = config.limits.resultTtlS * 1000;
  const idleTtlMs = (topic: string) => (topic.startsWith('req:') ? resultTtlMs : 86_400_000);
  const fanout = createRedisFanout({ redis, reader: open('fanout', true), idleTtlMs, onError });
  const logBus = createFanoutLogBus({ fanout, onError });
  const statusFeed = createRequestStatusFeed({ fanout, logBus, onError });
  const streams = createRedisStreamSlots({ redis, max, nodeId: node, onError });
  const revocations = createRedisRevocations({ redis, subscriber: open('revocations', true), onError });
  const rate = config.limits.rateLimit;
  const rateLimiter =
    rate.requestsPerSecond > 0
      ? createRedisRateLimiter({
          redis,
          requestsPerSecond: rate.requestsPerSecond,
          burst: rate.burst,
          onError,
        })
      : undefined;
  return {
    logBus,
    streams,
    fanout,
    rateLimiter,
    revocations,
    statusFeed,
    idempotency: createRedisIdempotencyKeys({ redis, onError }),
    engine: 'redis',
    async close() {
      logBus.close();
      await streams.close();
      await revocations.close();
      await fanout.close();
      await rateLimiter?.close();
      for (const c of conns) c.disconnect();
    },
  };
}
