import {
  type AnalyticsResult,
  HOUR_MS,
  type ListRequestsParams,
  type MeterRecord,
  MINUTE_MS,
  type RequestItem,
  type RequestRecord,
  type Stores,
  type TimeWindow,
  type UsageResult,
} from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RequestRollup } from '../telemetry/request-rollup.js';

// The read side of the store contract: seeded only through the write ports, read only through
// `stores.reads`. A backend's reads are done when this passes unchanged.

import { done, seedRequest, T0, utcHours } from './read-contract-fixtures.js';
import { describeLogAndAppReads } from './read-contract-logs.js';
/** Every read of `PlatformReads`, proven on a fresh set of stores per test. */
export function describeReadContract(name: string, open: () => Promise<Stores>): void {
  describe(`PlatformReads contract: ${name}`, () => {
    let s: Stores;
    beforeEach(async () => {
      s = await open();
    });
    afterEach(async () => {
      await s.close();
    });

    describe('requests', () => {
      beforeEach(async () => {
        for (let i = 0; i < 5; i++) {
          const code = i === 3 ? 500 : i === 4 ? 422 : 200;
          await seedRequest(s, `r${i}`, done(T0 + i * 1000, T0 + i * 1000 + 100 * (5 - i), code));
        }
        await seedRequest(s, 'turbo', {
          ...done(T0 + 9000, T0 + 9500),
          endpointId: 'acme/echo/turbo',
        });
        await seedRequest(s, 'open', { sentAt: T0 + 8000, endedAt: null });
        await seedRequest(s, 'other', { ...done(T0, T0 + 50), endpointId: 'acme/other', app: 'other' });
        await s.flush();
      });

      const base: ListRequestsParams = {
        endpoints: [{ id: 'acme/echo', bare: true }],
        startMs: T0 - HOUR_MS,
        endMs: T0 + HOUR_MS,
        status: null,
        requestId: null,
        sortBy: 'ended_at',
        limit: 50,
        after: null,
        payloads: false,
        billing: false,
      };
      const items = async (p: Partial<ListRequestsParams> = {}) => {
        const page = await s.reads.requestsPage({ ...base, ...p });
        return { ...page, items: (JSON.parse(page.json) as { items: RequestItem[] }).items };
      };

      it('lists completed requests newest end first, then in-flight ones, bare ids covering routes', async () => {
        const { items: list, next } = await items();
        expect(list.map((i) => i.request_id)).toEqual(['turbo', 'r4', 'r3', 'r2', 'r1', 'r0', 'open']);
        expect(next).toBeNull();
        const r0 = list.find((i) => i.request_id === 'r0')!;
        expect(r0).toEqual({
          request_id: 'r0',
          endpoint_id: 'acme/echo',
          started_at: new Date(T0 + 10).toISOString(),
          sent_at: new Date(T0).toISOString(),
          ended_at: new Date(T0 + 500).toISOString(),
          status_code: 200,
          duration: 0.5,
          runner_id: 'run-a',
        });
        const exact = await items({ endpoints: [{ id: 'acme/echo', bare: false }] });
        expect(exact.items.map((i) => i.request_id)).not.toContain('turbo');
      });

      it('pages with cursors and offsets without loss or repeat', async () => {
        const seen: string[] = [];
        let after: ListRequestsParams['after'] = null;
        for (let n = 0; n < 10; n++) {
          const page = await items({ limit: 2, after });
          seen.push(...page.items.map((i) => i.request_id));
          if (!page.next) break;
          after = page.next;
        }
        expect(seen).toEqual(['turbo', 'r4', 'r3', 'r2', 'r1', 'r0', 'open']);
        const third = await items({ limit: 2, offset: 4 });
        expect(third.items.map((i) => i.request_id)).toEqual(['r1', 'r0']);
      });

      it('filters by status class and request id, and sorts by duration', async () => {
        expect((await items({ status: 'error' })).items.map((i) => i.request_id)).toEqual(['r3']);
        expect((await items({ status: 'user_error' })).items.map((i) => i.request_id)).toEqual(['r4']);
        expect((await items({ requestId: 'r2' })).items.map((i) => i.request_id)).toEqual(['r2']);
        expect((await items({ requestId: 'other' })).items).toEqual([]);
        const byDuration = await items({ sortBy: 'duration' });
        expect(byDuration.items.map((i) => i.request_id)).toEqual([
          'r0',
          'turbo',
          'r1',
          'r2',
          'r3',
          'r4',
          'open',
        ]);
      });

      it('adds billing units and payloads when asked', async () => {
        const page = await items({ requestId: 'r1', billing: true, payloads: true });
        expect(page.items[0]).toMatchObject({ billable_units: 1.5, json_input: { n: 'r1' } });
        expect(page.objects).toEqual([]);
      });
    });

    describe('analytics', () => {
      beforeEach(async () => {
        const rollup = new RequestRollup();
        const seeded: RequestRecord[] = [];
        for (let i = 0; i < 100; i++) {
          const endedAt = T0 + (i % 2) * HOUR_MS + i * 1000;
          const rec = await seedRequest(
            s,
            `a${i}`,
            done(endedAt - 1000 - i, endedAt, i % 10 === 0 ? 500 : 200, {
              durationMs: (i + 1) * 10,
              errorClass: i % 10 === 0 ? 'runtime' : null,
            }),
          );
          seeded.push(rec);
        }
        for (const rec of seeded) rollup.observe(rec);
        s.rollups.record(rollup.drain());
        await s.flush();
      });

      const query = async (window: TimeWindow, over: Record<string, unknown> = {}) => {
        const page = await s.reads.analyticsPage({
          endpoints: [{ id: 'acme/echo', bare: true }],
          window,
          fromMs: null,
          limit: 100,
          metrics: [
            'request_count',
            'error_count',
            'runtime_error_count',
            'p50_duration',
            'total_billable_duration',
          ],
          timeSeries: true,
          summary: true,
          ...over,
        });
        return { ...(JSON.parse(page.json) as Omit<AnalyticsResult, 'nextBucket'>), next: page.nextBucket };
      };

      it('buckets counts by hour and summarises percentiles over the window', async () => {
        const r = await query(utcHours(T0 - HOUR_MS, T0 + 2 * HOUR_MS));
        expect(r.time_series!.map((b) => b.results[0]?.request_count ?? 0)).toEqual([0, 50, 50]);
        const sum = r.summary![0]!;
        expect(sum).toMatchObject({ endpoint_id: 'acme/echo', request_count: 100, error_count: 10 });
        expect(sum.runtime_error_count).toBe(10);
        expect(sum.total_billable_duration).toBeCloseTo((50.5 * 10 * 100) / 1000, 3);
        expect(Math.abs((sum.p50_duration as number) - 0.5)).toBeLessThan(0.5 * 0.02);
        expect(r.next).toBeNull();
      });

      it('pages buckets and labels them in the window zone', async () => {
        const r = await query(
          { startMs: T0 - HOUR_MS, endMs: T0 + 2 * HOUR_MS, timeframe: 'hour', timezone: 'Asia/Kolkata' },
          { limit: 2, summary: false },
        );
        expect(r.time_series!.length).toBe(2);
        expect(r.time_series![0]!.bucket).toBe('2026-03-01T16:30:00+05:30');
        expect(r.next).not.toBeNull();
        const rest = await query(
          { startMs: T0 - HOUR_MS, endMs: T0 + 2 * HOUR_MS, timeframe: 'hour', timezone: 'Asia/Kolkata' },
          { fromMs: r.next, summary: false },
        );
        const counts = [...r.time_series!, ...rest.time_series!].map((b) => b.results[0]?.request_count ?? 0);
        expect(counts.reduce((x, y) => x + y, 0)).toBe(100);
      });
    });

    describe('usage', () => {
      const meter = (minute: number, over: Partial<MeterRecord> = {}): MeterRecord => ({
        runnerId: 'u1',
        minute,
        owner: 'acme',
        app: 'echo',
        environment: 'main',
        machineType: 'GPU-H100',
        isSurge: false,
        seconds: 60,
        ...over,
      });
      beforeEach(async () => {
        s.meter.record([
          meter(T0),
          meter(T0 + MINUTE_MS, { seconds: 30 }),
          meter(T0, { runnerId: 'u2', isSurge: true, seconds: 20 }),
          meter(T0 + 2 * HOUR_MS, { runnerId: 'u3', app: 'other', environment: 'staging' }),
          meter(T0, { runnerId: 'u4', owner: 'bob' }),
        ]);
        await s.flush();
      });

      const usage = async (over: Record<string, unknown> = {}) => {
        const page = await s.reads.usagePage({
          owner: 'acme',
          apps: null,
          search: null,
          window: { startMs: T0 - HOUR_MS, endMs: T0 + 3 * HOUR_MS, timeframe: 'hour', timezone: 'UTC' },
          fromMs: null,
          limit: 100,
          timeSeries: false,
          summary: true,
          prices: { 'GPU-H100': { unitPrice: 0.001, surgeMultiplier: 2 } },
          percentDiscount: null,
          currency: 'USD',
          ...over,
        });
        return JSON.parse(page.json) as Omit<UsageResult, 'nextBucket'>;
      };

      it('prices machine time per app, environment, machine type and surge', async () => {
        const rows = (await usage()).summary!;
        expect(rows.map((r) => [r.app, r.environment, r.is_surge, r.quantity, r.cost_total])).toEqual([
          ['echo', null, false, 90, 0.09],
          ['echo', null, true, 20, 0.04],
          ['other', 'staging', false, 60, 0.06],
        ]);
      });

      it('applies discounts, app filters and search, and buckets by hour', async () => {
        const disc = (await usage({ percentDiscount: 10, apps: ['echo'] })).summary!;
        expect(disc.map((r) => r.cost_total)).toEqual([0.081, 0.036]);
        expect((await usage({ search: 'OTH' })).summary!.map((r) => r.app)).toEqual(['other']);
        const series = (await usage({ timeSeries: true, summary: false })).time_series!;
        expect(series.map((b) => b.results.reduce((n, r) => n + r.quantity, 0))).toEqual([0, 110, 0, 60]);
      });

      it('adds live meter rows not yet stored, replacing the stored value of the same minute', async () => {
        const live = [meter(T0 + MINUTE_MS, { seconds: 45 }), meter(T0 + 5 * MINUTE_MS, { seconds: 5 })];
        const rows = (await usage({ live, apps: ['echo'] })).summary!;
        expect(rows.map((r) => r.quantity)).toEqual([110, 20]);
      });
    });

    describeLogAndAppReads(() => s);
  });
}
