import type { App, Clock } from '@hangar/core';
import type { AppLookup } from './deps.js';

/**
 * Wraps an app lookup with a short positive cache: the hot path avoids a store read per request, and a
 * new deploy is seen within `ttlMs`. Misses are never cached, so a fresh app is callable at once.
 */
export function cachedAppLookup(inner: AppLookup, clock: Clock, ttlMs: number): AppLookup {
  const cache = new Map<string, { app: App; until: number }>();
  return {
    async getApp(owner, name) {
      const key = `${owner}/${name}`;
      const hit = cache.get(key);
      const now = clock();
      if (hit && hit.until > now) return hit.app;
      const app = await inner.getApp(owner, name);
      if (app) cache.set(key, { app, until: now + ttlMs });
      else cache.delete(key);
      return app;
    },
  };
}
