import { DAY_MS, HOUR_MS, MINUTE_MS } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, insertMeter, openHarness } from '../analytics/harness.test-helper.js';
import { describeOnBackends } from '../testing/backends.test-helper.js';

const NOW = Date.UTC(2025, 2, 12, 12);
const DAY0 = Date.UTC(2025, 2, 10);

describeOnBackends('usage routes', (backend) => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ backend, now: NOW, discounts: { alice: 20 } });
  });
  afterEach(async () => {
    await h.close();
  });

  type Row = Record<string, unknown> & {
    app: string;
    quantity: number;
    is_surge: boolean;
    cost_total: number;
  };
  type Body = {
    time_series?: { bucket: string; results: Row[] }[];
    summary?: Row[];
    next_cursor: string | null;
    has_more: boolean;
  };

  async function usage(query: string, key = h.keys.adminA): Promise<Body> {
    const res = await h.get(`/v1/serverless/usage?${query}`, key);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  /** One runner busy `seconds` per minute for `minutes` minutes from `from`. */
  function busy(
    from: number,
    minutes: number,
    seconds: number,
    over: Partial<Parameters<typeof insertMeter>[1][number]> = {},
  ) {
    insertMeter(
      h.db,
      Array.from({ length: minutes }, (_, i) => ({
        owner: 'alice',
        app: 'img',
        minute: from + i * MINUTE_MS,
        seconds,
        ...over,
      })),
    );
  }

  describe('GET /v1/serverless/usage', () => {
    it('requires an ADMIN key', async () => {
      const res = await h.get('/v1/serverless/usage', h.keys.apiA);
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toMatchObject({
        type: 'authorization_error',
        message: 'This operation requires an Admin API key',
      });
    });

    it('prices machine-seconds per type, surge rows apart, with the owner discount', async () => {
      busy(DAY0 + HOUR_MS, 10, 60);
      busy(DAY0 + HOUR_MS, 5, 30, { runner: 'runner-2', isSurge: true });
      busy(DAY0 + DAY_MS + HOUR_MS, 2, 60, {
        runner: 'runner-3',
        app: 'txt',
        machineType: 'CPU',
        environment: 'dev',
      });
      const body = await usage('start=2025-03-10&end=2025-03-12&timeframe=day&expand=time_series,summary');
      expect(body.time_series!.map((b) => b.bucket)).toEqual([
        '2025-03-10T00:00:00+00:00',
        '2025-03-11T00:00:00+00:00',
      ]);
      expect(body.time_series![0]!.results).toEqual([
        {
          app: 'img',
          // The default environment is not one the app set: null, as fal reports it.
          environment: null,
          machine_type: 'GPU-H100',
          unit: 'second',
          quantity: 600,
          unit_price: 0.001,
          percent_discount: 20,
          cost_subtotal: 0.6,
          cost_discount: 0.12,
          cost_total: 0.48,
          cost: 0.48,
          currency: 'USD',
          is_surge: false,
        },
        expect.objectContaining({
          app: 'img',
          quantity: 150,
          unit_price: 0.0015,
          cost_subtotal: 0.225,
          cost_total: 0.18,
          is_surge: true,
        }),
      ]);
      expect(body.time_series![1]!.results).toEqual([
        expect.objectContaining({
          app: 'txt',
          environment: 'dev',
          machine_type: 'CPU',
          quantity: 120,
          unit_price: 0.00002,
        }),
      ]);
      expect(body.summary!.map((r) => [r.app, r.quantity, r.is_surge])).toEqual([
        ['img', 600, false],
        ['img', 150, true],
        ['txt', 120, false],
      ]);
    });

    it('filters by exact app (owner prefix stripped) and by case-insensitive search', async () => {
      busy(DAY0, 1, 10);
      busy(DAY0, 1, 20, { runner: 'r2', app: 'txt' });
      busy(DAY0, 1, 40, { runner: 'r3', app: 'Image-Big' });
      const apps = async (q: string) =>
        (await usage(`start=2025-03-10&end=2025-03-11&expand=summary&${q}`)).summary!.map((r) => r.app);
      expect(await apps('app=alice/txt')).toEqual(['txt']);
      expect(await apps('app=img&app=txt')).toEqual(['img', 'txt']);
      expect(await apps('search=IM')).toEqual(['Image-Big', 'img']);
      expect(await apps('search=E-b')).toEqual(['Image-Big']);
      expect(await apps('search=im&app=txt')).toEqual([]);
      expect(await apps('')).toEqual(['Image-Big', 'img', 'txt']);
    });

    it('keeps owners apart', async () => {
      busy(DAY0, 3, 60);
      insertMeter(h.db, [{ runner: 'bob-1', owner: 'bob', app: 'vid', minute: DAY0, seconds: 5 }]);
      const bob = await usage('start=2025-03-10&end=2025-03-11&expand=summary', h.keys.adminB);
      expect(bob.summary).toEqual([
        expect.objectContaining({ app: 'vid', quantity: 5, percent_discount: null, cost_discount: 0 }),
      ]);
    });

    it('re-metered minutes replace, and zones off the UTC hour agree with UTC totals', async () => {
      busy(DAY0, 180, 30);
      busy(DAY0, 180, 60); // the meter writes every minute again with its final value
      const utc = await usage('start=2025-03-10&end=2025-03-11&timeframe=hour&expand=time_series,summary');
      expect(utc.summary![0]!.quantity).toBe(180 * 60);
      const kolkata = await usage(
        'start=2025-03-10T00:00:00Z&end=2025-03-10T03:00:00Z&timeframe=hour&timezone=Asia/Kolkata&expand=time_series,summary',
      );
      expect(kolkata.time_series!.map((b) => [b.bucket, b.results[0]?.quantity ?? 0])).toEqual([
        ['2025-03-10T05:00:00+05:30', 1800],
        ['2025-03-10T06:00:00+05:30', 3600],
        ['2025-03-10T07:00:00+05:30', 3600],
        ['2025-03-10T08:00:00+05:30', 1800],
      ]);
      expect(kolkata.summary![0]!.quantity).toBe(180 * 60);
    });

    it('buckets days across DST in the requested zone', async () => {
      // New York's 2025-03-09 lasts 23 hours: 05:00Z on the 9th to 04:00Z on the 10th.
      busy(Date.UTC(2025, 2, 9, 4, 59), 1, 10);
      busy(Date.UTC(2025, 2, 10, 3, 59), 1, 20, { runner: 'r2' });
      busy(Date.UTC(2025, 2, 10, 4, 0), 1, 40, { runner: 'r3' });
      const body = await usage('start=2025-03-08&end=2025-03-11&timezone=America/New_York&timeframe=day');
      expect(body.time_series!.map((b) => [b.bucket, b.results[0]?.quantity ?? 0])).toEqual([
        ['2025-03-08T00:00:00-05:00', 10],
        ['2025-03-09T00:00:00-05:00', 20],
        ['2025-03-10T00:00:00-04:00', 40],
      ]);
    });

    it('pages over buckets and validates parameters', async () => {
      busy(DAY0, 1, 1);
      const first = await usage('start=2025-03-01&end=2025-03-12&timeframe=day&limit=4');
      expect(first.time_series).toHaveLength(4);
      expect(first.has_more).toBe(true);
      const pages = [first];
      while (pages.at(-1)!.next_cursor) {
        pages.push(
          await usage(
            `start=2025-03-01&end=2025-03-12&timeframe=day&limit=4&cursor=${pages.at(-1)!.next_cursor}`,
          ),
        );
      }
      expect(pages.flatMap((p) => p.time_series!.map((b) => b.bucket))).toHaveLength(11);
      // fal's page-number cursors pick the same pages; past the last one the page is empty.
      for (let page = 1; page <= 4; page++) {
        const cursor = Buffer.from(String(page)).toString('base64');
        const body = await usage(`start=2025-03-01&end=2025-03-12&timeframe=day&limit=4&cursor=${cursor}`);
        expect(body.time_series).toEqual(pages[page - 1]?.time_series ?? []);
        expect(body.has_more).toBe(page < 3);
      }
      for (const q of [
        'expand=bogus',
        'limit=0',
        'timezone=Nowhere',
        'start=2023-01-01&end=2025-01-01',
        'cursor=bm90IGEgY3Vyc29y',
      ]) {
        expect((await h.get(`/v1/serverless/usage?${q}`, h.keys.adminA)).statusCode, q).toBe(400);
      }
    });

    it('takes a year in monthly buckets (fal: month from 183 days on), with a null environment', async () => {
      busy(DAY0, 1, 30);
      const year = await usage('start=2024-03-12&end=2025-03-12&expand=time_series,summary');
      expect(year.time_series).toHaveLength(13);
      expect(year.time_series![0]!.bucket).toBe('2024-03-01T00:00:00+00:00');
      expect(year.summary![0]).toMatchObject({ quantity: 30, environment: null });
      const half = await usage('start=2024-09-10&end=2025-03-12');
      expect(half.time_series!.map((b) => b.bucket).slice(0, 2)).toEqual([
        '2024-09-01T00:00:00+00:00',
        '2024-10-01T00:00:00+00:00',
      ]);
      const under = await usage('start=2024-09-11&end=2025-03-12');
      expect(under.time_series![1]!.bucket).toBe('2024-09-16T00:00:00+00:00');
    });
  });
});
