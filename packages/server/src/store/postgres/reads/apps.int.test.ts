import { ANALYTICS_METRICS, DAY_MS, HOUR_MS, PlatformError } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { foldRunnerHistory, historyBuckets } from '../../../api/apps/runner-history.js';
import { postgresMissing } from '../../../test-services/postgres.test-helper.js';
import { createSqliteStores } from '../../sqlite/index.js';
import { createPostgresRollupSink } from './index.js';
import { DAYS, T0 } from './seed.test-helper.js';
import { useSeededWorld } from './world.test-helper.js';

// App reads and the rollup rebuild on PostgreSQL answer as SQLite's do.

const END = T0 + DAYS * DAY_MS;

describe.skipIf(postgresMissing !== null)('PostgreSQL app reads and rollup rebuild', () => {
  const w = useSeededWorld();

  it('lists apps, revisions, events, runner buckets and revision traffic alike', async () => {
    for (const p of [
      { owner: 'acme', environment: 'main', search: null },
      { owner: 'acme', environment: 'staging', search: null },
      { owner: 'acme', environment: 'main', search: 'OES' },
    ]) {
      expect(await w.reads.apps.list(p)).toEqual(await w.sqlite.apps.list(p));
    }
    for (const p of [
      { owner: 'acme', app: 'echo' },
      { owner: 'acme', app: 'nope' },
    ]) {
      expect(await w.reads.apps.exists(p)).toBe(await w.sqlite.apps.exists(p));
    }
    const rev = { owner: 'acme', app: 'echo', limit: 1 };
    for (const p of [
      { ...rev, before: null },
      { ...rev, before: { t: T0 + 2 * HOUR_MS, k: 'acme-echo-r2' } },
      { ...rev, before: null, offset: 1 },
    ]) {
      expect(await w.reads.apps.revisions(p)).toEqual(await w.sqlite.apps.revisions(p));
    }
    const ev = { owner: 'acme', app: 'echo', start: T0, end: T0 + DAY_MS, limit: 5 };
    for (const p of [
      { ...ev, categories: null, before: null },
      { ...ev, categories: ['runner_started'], before: { t: T0 + 20 * HOUR_MS, k: 'ev-040' } },
      { ...ev, categories: null, before: null, offset: 3 },
    ]) {
      expect(await w.reads.apps.events(p)).toEqual(await w.sqlite.apps.events(p));
    }
    for (const width of [60_000, HOUR_MS, DAY_MS]) {
      const p = { owner: 'acme', app: 'echo', start: T0 + 90_000, end: T0 + 2 * DAY_MS, origin: T0, width };
      // SQLite divides as REAL (bound numbers are doubles), so its `b` is fractional: compare what the route
      // makes of them, the folded history.
      const win = {
        startMs: T0,
        endMs: T0 + 2 * DAY_MS,
        timeframe:
          width === DAY_MS ? ('day' as const) : width === HOUR_MS ? ('hour' as const) : ('minute' as const),
        timezone: 'UTC',
      };
      const buckets = historyBuckets(win);
      const fold = (rows: Parameters<typeof foldRunnerHistory>[0]) =>
        ['max', 'avg'].map((a) => foldRunnerHistory(rows, win, buckets, a as 'max'));
      expect(fold(await w.reads.apps.runnerBuckets(p))).toEqual(fold(await w.sqlite.apps.runnerBuckets(p)));
    }
    for (const p of [
      { owner: 'acme', app: 'echo', since: T0 },
      { owner: 'acme', app: 'echo', since: T0 + 5 * DAY_MS },
    ]) {
      expect(await w.reads.apps.revisionTraffic(p)).toEqual(await w.sqlite.apps.revisionTraffic(p));
    }
  });

  it('rebuilds lost recent rollups from the requests, as SQLite does', async () => {
    const p = {
      endpoints: [
        { id: 'acme', bare: true },
        { id: 'acme/echo', bare: true },
        { id: 'beta/echo', bare: true },
      ],
      window: { startMs: T0, endMs: END, timeframe: 'hour' as const, timezone: 'Europe/Paris' },
      fromMs: null,
      limit: 1000,
      metrics: [...ANALYTICS_METRICS],
      timeSeries: true,
      summary: true,
    };
    const want = JSON.parse((await w.sqlite.analyticsPage(p)).json);
    // A crash lost the last day and a half of minute and hour cells, and one day cell is out of step.
    await w.world.pool.query('DELETE FROM request_rollups WHERE start >= $1 AND span < $2', [
      END - 36 * HOUR_MS,
      DAY_MS,
    ]);
    await w.world.pool.query(
      'UPDATE request_rollups SET request_count = request_count + 5 WHERE span = $1 AND start = $2',
      [DAY_MS, T0 + DAY_MS],
    );
    expect(JSON.parse((await w.reads.analyticsPage(p)).json)).not.toEqual(want);
    const sink = createPostgresRollupSink(w.world.pool, (err) => {
      throw err;
    });
    const folded = await sink.rebuildRecent(2 * DAY_MS);
    const stores = createSqliteStores({ path: w.world.sqlitePath });
    try {
      expect(folded).toBe(await stores.rollups.rebuildRecent(2 * DAY_MS));
    } finally {
      await stores.close();
    }
    expect(folded).toBeGreaterThan(50);
    expect(JSON.parse((await w.reads.analyticsPage(p)).json)).toEqual(want);
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while PostgreSQL is down, and reads again after', async () => {
    const p = { owner: 'acme', app: 'echo' };
    expect(await w.reads.apps.exists(p)).toBe(true);
    await w.server.kill();
    const err = await w.reads.apps.exists(p).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE', headers: { 'retry-after': '2' } });
    expect(String((err as Error).message)).not.toMatch(/postgres:|127\.0\.0\.1/);
    await w.server.start();
    expect(await w.reads.apps.exists(p)).toBe(true);
  });
});
