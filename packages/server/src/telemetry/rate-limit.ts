import { type Clock, PlatformError, type RateLimiter, systemClock } from '@hangar/core';
import type { FastifyRequest } from 'fastify';

/** Token bucket settings (config `limits.rate_limit`). */
export interface RateLimitOptions {
  /** Sustained rate per key; 0 disables limiting. */
  requestsPerSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
  clock?: Clock;
  /** Which requests count; default every URL under `/v1/`. */
  applies?: (request: FastifyRequest) => boolean;
  /** Idle buckets are forgotten once more than this many exist (a full bucket carries no state). */
  maxTracked?: number;
  /** Where the buckets live; default this process's (`createLocalRateLimiter`). */
  limiter?: RateLimiter;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A per-key token bucket: `take` answers 0 when allowed, else the seconds until a token is available. */
export function createTokenBuckets(opts: RateLimitOptions): { take(key: string): number; size(): number } {
  const clock = opts.clock ?? systemClock;
  const rate = opts.requestsPerSecond / 1000;
  const burst = Math.max(1, opts.burst);
  const maxTracked = opts.maxTracked ?? 100_000;
  const buckets = new Map<string, Bucket>();

  const prune = (now: number) => {
    for (const [k, b] of buckets) if (b.tokens + (now - b.at) * rate >= burst) buckets.delete(k);
  };

  return {
    take(key) {
      const now = clock();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxTracked) prune(now);
        b = { tokens: burst, at: now };
        buckets.set(key, b);
      }
      b.tokens = Math.min(burst, b.tokens + (now - b.at) * rate);
      b.at = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
    },
    size: () => buckets.size,
  };
}

/** The in-process `RateLimiter`: the buckets of `createTokenBuckets`, answered without waiting. */
export function createLocalRateLimiter(opts: RateLimitOptions): RateLimiter {
  const buckets = createTokenBuckets(opts);
  return { take: async (key) => buckets.take(key), close: async () => {} };
}

/**
 * An `onRequest` hook limiting each key (anonymous callers by IP) with a token bucket; over the limit it
 * answers 429 `rate_limited` with `Retry-After` in whole seconds. Add it after authentication.
 */
export function createRateLimitHook(opts: RateLimitOptions): (request: FastifyRequest) => Promise<void> {
  const applies = opts.applies ?? ((r: FastifyRequest) => r.url.startsWith('/v1/'));
  if (opts.requestsPerSecond <= 0) return async () => {};
  const limiter = opts.limiter ?? createLocalRateLimiter(opts);
  return async (request) => {
    if (!applies(request)) return;
    const key = request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`;
    const wait = await limiter.take(key);
    if (wait > 0) {
      throw new PlatformError('REQUEST_RATE_LIMITED', undefined, { 'retry-after': String(wait) });
    }
  };
}
