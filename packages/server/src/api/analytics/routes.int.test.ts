import { ANALYTICS_METRICS, DAY_MS, HOUR_MS, MINUTE_MS, quantileRank } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rebuildRollups } from '../../store/sqlite/rollups.js';
import { describeOnBackends } from '../testing/backends.test-helper.js';
import { type Harness, insertRequests, openHarness, type SeedRequest } from './harness.test-helper.js';

const NOW = Date.UTC(2025, 2, 12, 12);

describeOnBackends('analytics routes', (backend) => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ backend, now: NOW });
  });
  afterEach(async () => {
    await h.close();
  });

  function seed(rows: SeedRequest[]): void {
    insertRequests(h.db, rows);
    rebuildRollups(h.db, NOW - 60 * DAY_MS, NOW + DAY_MS);
  }

  const at = (endpoint: string, endedAt: number, over: Partial<SeedRequest> = {}): SeedRequest => ({
    endpoint,
    sentAt: endedAt - 1500,
    startedAt: endedAt - 1000,
    endedAt,
    statusCode: 200,
    prepareMs: 500,
    durationMs: 1000,
    ...over,
  });

  type Rec = { endpoint_id: string } & Record<string, number>;
  type Body = {
    time_series?: { bucket: string; results: Rec[] }[];
    summary?: Rec[];
    next_cursor: string | null;
    has_more: boolean;
  };

  async function analytics(query: string, key?: string): Promise<Body> {
    const res = await h.get(`/v1/serverless/analytics?${query}`, key);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  describe('GET /v1/serverless/analytics', () => {
    it('defaults to an hourly request_count series of the last 24 hours', async () => {
      seed([
        at('alice/img', NOW - 30 * MINUTE_MS),
        at('alice/img', NOW - 20 * MINUTE_MS),
        at('alice/img', NOW - 3 * HOUR_MS),
      ]);
      const body = await analytics('endpoint_id=alice/img');
      expect(body.time_series).toHaveLength(24);
      expect(body.summary).toBeUndefined();
      expect(body.time_series![0]!.bucket).toBe('2025-03-11T12:00:00+00:00');
      const last = body.time_series!.at(-1)!;
      expect(last.bucket).toBe('2025-03-12T11:00:00+00:00');
      expect(last.results).toEqual([{ endpoint_id: 'alice/img', request_count: 2 }]);
      expect(body.time_series!.filter((b) => b.results.length > 0)).toHaveLength(2);
      expect(body).toMatchObject({ next_cursor: null, has_more: false });
    });

    it('computes every metric, percentiles within 1% of the exact values', async () => {
      const durations = Array.from({ length: 400 }, (_, i) => Math.round(200 * Math.exp((i % 97) / 20)));
      const rows = durations.map((d, i) =>
        at('alice/img', NOW - (i + 1) * 3 * MINUTE_MS, {
          durationMs: d,
          prepareMs: 10 + (i % 50) * 13,
          statusCode: [200, 200, 201, 404, 500][i % 5]!,
          errorClass: i % 5 === 4 ? (['startup', 'connection', 'timeout', 'runtime'] as const)[i % 4] : null,
          coldStart: i % 8 === 0,
          coldBootMs: i % 8 === 0 ? 800 + i * 10 : null,
        }),
      );
      seed(rows);
      const body = await analytics(
        `endpoint_id=alice/img&start=${new Date(NOW - 30 * HOUR_MS).toISOString()}&expand=summary,${ANALYTICS_METRICS.join(',')}`,
      );
      const [s] = body.summary!;
      expect(Object.keys(s!).sort()).toEqual(['endpoint_id', ...ANALYTICS_METRICS].sort());
      expect(s).toMatchObject({
        request_count: 400,
        success_count: 240,
        user_error_count: 80,
        error_count: 80,
      });
      expect(
        s!.startup_error_count! +
          s!.connection_error_count! +
          s!.timeout_error_count! +
          s!.runtime_error_count!,
      ).toBe(80);
      const cold = rows.filter((r) => r.coldStart && r.coldBootMs! > 1000);
      expect(s!.cold_boot_count).toBe(cold.length);
      expect(s!.total_billable_duration).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / 1000, 6);
      const exact = (values: number[], q: number) =>
        [...values].sort((a, b) => a - b)[quantileRank(q, values.length)]! / 1000;
      const within = (got: number, want: number) =>
        expect(Math.abs(got - want) / want).toBeLessThanOrEqual(0.01);
      for (const q of [25, 50, 75, 90, 95, 99]) within(s![`p${q}_duration`]!, exact(durations, q / 100));
      for (const q of [50, 75, 90, 95, 99])
        within(
          s![`p${q}_prepare_duration`]!,
          exact(
            rows.map((r) => r.prepareMs!),
            q / 100,
          ),
        );
      for (const q of [50, 75, 90])
        within(
          s![`p${q}_cold_boot_duration`]!,
          exact(
            cold.map((r) => r.coldBootMs!),
            q / 100,
          ),
        );
    });

    it('groups a bare app id by route-level endpoint and returns only requested metrics', async () => {
      seed([
        at('alice/img', NOW - HOUR_MS),
        at('alice/img/turbo', NOW - HOUR_MS),
        at('alice/img/turbo', NOW - 2 * HOUR_MS, { statusCode: 500 }),
      ]);
      const body = await analytics('endpoint_id=alice/img&expand=summary&expand=error_count');
      expect(body.summary).toEqual([
        { endpoint_id: 'alice/img', error_count: 0 },
        { endpoint_id: 'alice/img/turbo', error_count: 1 },
      ]);
      const turbo = await analytics('endpoint_id=alice/img/turbo&expand=summary,request_count');
      expect(turbo.summary).toEqual([{ endpoint_id: 'alice/img/turbo', request_count: 2 }]);
    });

    it('buckets days in the requested zone across a DST change', async () => {
      const tz = 'America/New_York';
      // 2025-03-09 is 23 hours long in New York. 04:30Z on the 9th is 23:30 on the 8th (EST);
      // 04:30Z on the 10th is 00:30 on the 10th (EDT).
      seed([
        at('alice/img', Date.UTC(2025, 2, 9, 4, 30)),
        at('alice/img', Date.UTC(2025, 2, 10, 4, 30)),
        at('alice/img', Date.UTC(2025, 2, 10, 3, 30)),
      ]);
      const body = await analytics(`endpoint_id=alice/img&start=2025-03-08&end=2025-03-11&timezone=${tz}`);
      expect(body.time_series!.map((b) => [b.bucket, b.results[0]?.request_count ?? 0])).toEqual([
        ['2025-03-08T00:00:00-05:00', 1],
        ['2025-03-09T00:00:00-05:00', 1],
        ['2025-03-10T00:00:00-04:00', 1],
      ]);
    });

    it('aligns hours of a half-hour zone from minute rollups', async () => {
      seed([
        at('alice/img', Date.UTC(2025, 2, 12, 9, 29)),
        at('alice/img', Date.UTC(2025, 2, 12, 9, 30)),
        at('alice/img', Date.UTC(2025, 2, 12, 10, 10)),
      ]);
      const body = await analytics(
        `endpoint_id=alice/img&start=2025-03-12T08:30:00Z&end=2025-03-12T11:30:00Z&timeframe=hour&timezone=Asia/Kolkata`,
      );
      expect(body.time_series!.map((b) => [b.bucket, b.results[0]?.request_count ?? 0])).toEqual([
        ['2025-03-12T14:00:00+05:30', 1],
        ['2025-03-12T15:00:00+05:30', 2],
        ['2025-03-12T16:00:00+05:30', 0],
      ]);
      // Unbound windows start mid-hour: the partial first bucket comes from minute rollups.
      const odd = await analytics(
        `endpoint_id=alice/img&start=2025-03-12T09:07:00Z&end=2025-03-12T11:00:00Z&timeframe=hour&timezone=Asia/Kolkata&bound_to_timeframe=false`,
      );
      expect(odd.time_series!.map((b) => [b.bucket, b.results[0]?.request_count ?? 0])).toEqual([
        ['2025-03-12T14:37:00+05:30', 1],
        ['2025-03-12T15:00:00+05:30', 2],
        ['2025-03-12T16:00:00+05:30', 0],
      ]);
    });

    it('pages over buckets with a cursor', async () => {
      seed(Array.from({ length: 24 }, (_, i) => at('alice/img', NOW - i * HOUR_MS - MINUTE_MS)));
      const buckets: string[] = [];
      let total = 0;
      let cursor: string | null = null;
      do {
        const body = await analytics(`endpoint_id=alice/img&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
        expect(body.has_more).toBe(body.next_cursor !== null);
        buckets.push(...body.time_series!.map((b) => b.bucket));
        total += body.time_series!.reduce((n, b) => n + (b.results[0]?.request_count ?? 0), 0);
        cursor = body.next_cursor;
      } while (cursor);
      expect(buckets).toHaveLength(24);
      expect(new Set(buckets).size).toBe(24);
      expect(total).toBe(24);
    });

    it("serves fal's page-number cursors as the same bucket pages", async () => {
      seed(Array.from({ length: 24 }, (_, i) => at('alice/img', NOW - i * HOUR_MS - MINUTE_MS)));
      const first = await analytics('endpoint_id=alice/img&limit=5');
      const second = await analytics(`endpoint_id=alice/img&limit=5&cursor=${first.next_cursor}`);
      expect(await analytics('endpoint_id=alice/img&limit=5&cursor=Mg==')).toEqual(second);
      const fifth = await analytics(
        `endpoint_id=alice/img&limit=5&cursor=${Buffer.from('5').toString('base64')}`,
      );
      expect(fifth.time_series).toHaveLength(4);
      expect(fifth.has_more).toBe(false);
      const beyond = await analytics(
        `endpoint_id=alice/img&limit=5&cursor=${Buffer.from('9').toString('base64')}`,
      );
      expect(beyond).toMatchObject({ time_series: [], next_cursor: null, has_more: false });
    });

    it('takes a year in monthly buckets from day rollups, with a null percentile for an empty cell', async () => {
      // One request on the 15th of each month, March 2024 to February 2025.
      const rows = Array.from({ length: 12 }, (_, i) =>
        at('alice/img', Date.UTC(2024, 2 + i, 15, 10, 30), { durationMs: 1000 * (i + 1) }),
      );
      insertRequests(h.db, rows);
      rebuildRollups(h.db, Date.UTC(2024, 0, 1), NOW);
      const body = await analytics(
        'endpoint_id=alice/img&start=2024-03-12&end=2025-03-12&expand=time_series,summary,request_count,p50_duration,p50_cold_boot_duration',
      );
      expect(body.time_series).toHaveLength(13);
      expect(body.time_series![0]!.bucket).toBe('2024-03-01T00:00:00+00:00');
      expect(body.time_series!.map((b) => b.results[0]?.request_count ?? 0)).toEqual([
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
      ]);
      expect(body.time_series![1]!.results[0]).toEqual({
        endpoint_id: 'alice/img',
        request_count: 1,
        p50_duration: expect.closeTo(2, 1),
        p50_cold_boot_duration: null,
      });
      expect(body.summary![0]).toMatchObject({ request_count: 12, p50_cold_boot_duration: null });
      // In New York the months start at 04:00/05:00 UTC: day rows inside, hour rows at the edges.
      const ny = await analytics(
        'endpoint_id=alice/img&start=2024-03-12&end=2025-03-12&timezone=America/New_York',
      );
      expect(ny.time_series![1]!.bucket).toBe('2024-04-01T00:00:00-04:00');
      expect(ny.time_series!.reduce((n, b) => n + (b.results[0]?.request_count ?? 0), 0)).toBe(12);
      expect(
        (await h.get('/v1/serverless/analytics?endpoint_id=alice/img&start=2023-01-01&end=2025-01-01'))
          .statusCode,
      ).toBe(400);
    });

    it('enforces ownership and validates expand', async () => {
      expect((await h.get('/v1/serverless/analytics?endpoint_id=bob/vid')).statusCode).toBe(403);
      expect((await h.get('/v1/serverless/analytics?endpoint_id=bob/vid', h.keys.apiB)).statusCode).toBe(200);
      expect((await h.get('/v1/serverless/analytics?endpoint_id=alice/ghost')).statusCode).toBe(404);
      for (const q of [
        'expand=summary',
        'expand=request_count',
        'expand=time_series,p42_duration',
        'timezone=Nowhere/City',
        'timeframe=year',
      ]) {
        expect((await h.get(`/v1/serverless/analytics?endpoint_id=alice/img&${q}`)).statusCode, q).toBe(400);
      }
    });
  });
});
