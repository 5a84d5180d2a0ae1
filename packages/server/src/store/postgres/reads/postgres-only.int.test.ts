import { ANALYTICS_METRICS, DAY_MS, HOUR_MS, PlatformError } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { postgresMissing } from '../../../test-services/postgres.test-helper.js';
import { SEARCHES, sameLogPages, worldLogFilter } from '../../reads-parity-logs.test-helper.js';
import { END, T0 } from '../../reads-world.test-helper.js';
import { createSqliteStores } from '../../sqlite/index.js';
import { runPostgresMaintenance } from '../partitions.js';
import { createPostgresReads, createPostgresRollupSink } from './index.js';
import { useSeededWorld } from './world.test-helper.js';

// What only PostgreSQL has, on the reads world: daily log partitions, the pg_trgm index, the rollup rebuild
// and outages. The cases every engine shares are in same-as-sqlite.int.test.ts. The cases run in order,
// each leaving the world changed (partitioned, index dropped, server restarted).

describe.skipIf(postgresMissing !== null)(
  'PostgreSQL-only reads: partitions, pg_trgm, rollups, outage',
  () => {
    const w = useSeededWorld();

    it('searches alike once the days have their daily partitions (sliced search)', async () => {
      const one = await w.world.pool.connect();
      try {
        const session = {
          query: async (t: string, p?: readonly unknown[]) => (await one.query(t, p as unknown[])).rows,
        };
        for (let now = T0 - 7 * DAY_MS; now < END + 7 * DAY_MS; now += 7 * DAY_MS) {
          await runPostgresMaintenance(session, now, { requests: 0, logs: 0, samples: 0 });
        }
      } finally {
        one.release();
      }
      const left = await w.world.pool.query('SELECT count(*)::int AS n FROM logs_default');
      expect(left.rows[0].n).toBe(0);
      let found = 0;
      const same = (over: object) => sameLogPages(w.reads, w.sqlite, worldLogFilter(over));
      for (const [, over] of SEARCHES) found += await same(over);
      found += await same({ search: 'line', start: T0 + 3 * DAY_MS + 5, end: END - DAY_MS / 3 });
      expect(found).toBeGreaterThan(100);
    });

    it('searches alike without pg_trgm, saying so once', async () => {
      await w.world.pool.query('DROP INDEX logs_message_trgm');
      const warnings: string[] = [];
      const plain = createPostgresReads(w.world.pool, { warn: (m) => warnings.push(m) });
      let found = 0;
      for (const [, over] of SEARCHES) found += await sameLogPages(plain, w.sqlite, worldLogFilter(over));
      expect(found).toBeGreaterThan(100);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/pg_trgm/);
      expect(w.warnings).toEqual([]);
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
  },
);
