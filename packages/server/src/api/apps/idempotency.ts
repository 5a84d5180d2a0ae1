import { type Clock, type IdempotencyKeys, systemClock } from '@hangar/core';

/** Remembers idempotency keys for a while, so a retried operation is not done twice. */
export interface IdempotencyCache {
  /** True when `key` was recorded within the TTL. */
  seen(key: string): boolean;
  record(key: string): void;
}

/** Creates the cache (fal keeps flush-queue answers 10 minutes per key). */
export function createIdempotencyCache(ttlMs = 600_000, clock: Clock = systemClock): IdempotencyCache {
  const until = new Map<string, number>();
  const prune = (now: number) => {
    for (const [k, t] of until) if (t <= now) until.delete(k);
  };
  return {
    seen(key) {
      const t = until.get(key);
      return t !== undefined && t > clock();
    },
    record(key) {
      const now = clock();
      if (until.size >= 10_000) prune(now);
      until.set(key, now + ttlMs);
    },
  };
}

/** The in-process `IdempotencyKeys` over `createIdempotencyCache`. */
export function createLocalIdempotencyKeys(ttlMs = 600_000, clock: Clock = systemClock): IdempotencyKeys {
  const cache = createIdempotencyCache(ttlMs, clock);
  return { seen: async (key) => cache.seen(key), record: async (key) => cache.record(key) };
}
