import {
  type AnalyticsResult,
  HOUR_MS,
  type LogFilter,
  type LogLine,
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
import { requestFixture, revisionFixture, runnerFixture } from './fixtures.js';

// The read side of the store contract: seeded only through the write ports, read only through
// `stores.reads`. A backend's reads are done when this passes unchanged.

const T0 = Date.UTC(2026, 2, 1, 12);
const WEEK = 7 * 24 * HOUR_MS;

async function putApp(s: Stores, owner: string, app: string, at: number, routes = ['/']): Promise<void> {
  const rev = revisionFixture(`${app}-r${at}`, owner, app, at);
  await s.apps.putRevision({ ...rev, manifest: { ...rev.manifest, routes } });
}

/** Inserts and completes a request (ended `endedAt`, ran `durationMs`); in flight when `endedAt` is null. */
async function seedRequest(s: Stores, id: string, over: Partial<RequestRecord>): Promise<RequestRecord> {
  const rec = requestFixture(id, { jsonInput: { n: id }, ...over });
  await s.requests.insert({ ...rec, status: 'IN_QUEUE', endedAt: null }, Buffer.from('{}'));
  if (rec.endedAt !== null) {
    const done: Partial<RequestRecord> = { ...rec, status: 'COMPLETED', jsonOutput: { ok: id } };
    s.requests.complete(id, done, null, rec.endedAt + HOUR_MS);
  }
  return rec;
}

function done(sentAt: number, endedAt: number, code = 200, over: Partial<RequestRecord> = {}) {
  return {
    sentAt,
    startedAt: sentAt + 10,
    endedAt,
    statusCode: code,
    durationMs: endedAt - sentAt - 10,
    prepareMs: 10,
    runnerId: 'run-a',
    billableUnits: 1.5,
    ...over,
  } satisfies Partial<RequestRecord>;
}

function logFilter(owner: string, over: Partial<LogFilter> = {}): LogFilter {
  return {
    owner,
    start: T0 - WEEK,
    end: T0 + WEEK,
    apps: null,
    revision: null,
    runSource: null,
    traceback: true,
    search: null,
    levels: null,
    jobId: null,
    requestId: null,
    labels: [],
    ...over,
  };
}

const utcHours = (startMs: number, endMs: number): TimeWindow => ({
  startMs,
  endMs,
  timeframe: 'hour',
  timezone: 'UTC',
});

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

      const base = {
        endpoints: [{ id: 'acme/echo', bare: true }],
        startMs: T0 - HOUR_MS,
        endMs: T0 + HOUR_MS,
        status: null,
        requestId: null,
        sortBy: 'ended_at' as const,
        limit: 50,
        after: null,
        payloads: false,
        billing: false,
      };
      const items = async (p: Partial<typeof base> & Record<string, unknown> = {}) => {
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
        let after = null;
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

    describe('logs', () => {
      const line = (i: number, message: string, over: Partial<LogLine> = {}): LogLine => ({
        ts: T0 + Math.floor(i / 3) * 1000,
        owner: 'acme',
        app: i % 2 ? 'echo' : 'other',
        revision: 'rev1',
        level: i % 4 === 0 ? 'error' : 'info',
        message,
        labels: { fal_request_id: `q${i % 5}`, source: 'stdout' },
        ...over,
      });
      const MESSAGES = [
        'Completed request in 12 ms',
        'ECC error on GPU 7',
        'rate 50%_off',
        'ошибка ÜNÏCØDÉ',
        'launch 🚀 done',
      ];
      let lines: LogLine[];
      beforeEach(async () => {
        lines = Array.from({ length: 60 }, (_, i) => line(i, `${MESSAGES[i % MESSAGES.length]} #${i}`));
        lines.push(line(99, 'other owner ECC error', { owner: 'bob' }));
        s.logs.append(lines);
        await s.flush();
      });

      const history = async (f: LogFilter, limit: number) => {
        const out: string[] = [];
        const bounds = [];
        for (let n = 0; n < 100; n++) {
          const page = await s.reads.logs.historyPage({ filter: f, bounds, limit });
          out.push(...(JSON.parse(page.itemsJson) as { message: string }[]).map((e) => e.message));
          if (page.next === null) return out;
          const ms = Date.parse(page.next);
          const ns = Number(/\.\d{3}(\d{6})Z$/.exec(page.next)?.[1] ?? 0);
          bounds.splice(0, 1, { ts: ms, ns });
        }
        return out;
      };
      const expected = (keep: (l: LogLine) => boolean) =>
        lines
          .map((l, i) => ({ l, i }))
          .filter(({ l }) => l.owner === 'acme' && keep(l))
          .sort((a, b) => b.l.ts - a.l.ts || b.i - a.i)
          .map(({ l }) => l.message);

      it('pages history newest first by timestamp then id, without loss or repeat', async () => {
        expect(await history(logFilter('acme'), 7)).toEqual(expected(() => true));
        expect(await history(logFilter('acme', { apps: ['echo'], levels: ['error'] }), 4)).toEqual(
          expected((l) => l.app === 'echo' && l.level === 'error'),
        );
      });

      const ascii = (v: string) => v.replace(/[A-Z]/g, (c) => c.toLowerCase());
      it.each([
        'ECC error on GPU 7',
        'ecc ERROR',
        '50%_off',
        '50%_',
        'ошибка',
        'ÜNÏCØDÉ',
        '🚀 done',
        'zzzz',
        'é',
      ])('searches %j as a case-insensitive substring', async (needle) => {
        const want = expected((l) => ascii(l.message).includes(ascii(needle)));
        expect(await history(logFilter('acme', { search: needle }), 5)).toEqual(want);
      });

      it('serves the stream backfill in id order after an id, from the first id of a window', async () => {
        const from = await s.reads.logs.firstIdFrom({ owner: 'acme', start: T0 + 10_000 });
        const after = await s.reads.logs.after({
          filter: logFilter('acme', { start: T0 + 10_000 }),
          afterId: from,
          limit: 1000,
        });
        expect(after.map((l) => l.message)).toEqual(
          lines.filter((l) => l.owner === 'acme' && l.ts >= T0 + 10_000).map((l) => l.message),
        );
        const ids = after.map((l) => l.id);
        expect([...ids].sort((a, b) => a - b)).toEqual(ids);
        expect(after[0]!.labels).toEqual({ fal_request_id: 'q0', source: 'stdout' });
        const rest = await s.reads.logs.after({ filter: logFilter('acme'), afterId: ids[2]!, limit: 2 });
        expect(rest.map((l) => l.id)).toEqual(ids.slice(3, 5));
      });
    });

    describe('apps', () => {
      beforeEach(async () => {
        await putApp(s, 'acme', 'echo', T0 - 3000);
        await putApp(s, 'acme', 'echo', T0 - 2000);
        await putApp(s, 'acme', 'beta', T0 - 1000);
        await putApp(s, 'bob', 'echo', T0 - 1000);
        for (let i = 0; i < 5; i++) {
          s.events.append({
            eventId: `e${i}`,
            owner: 'acme',
            app: 'echo',
            category: i % 2 ? 'deployment' : 'scaling',
            createdAt: T0 + i * 1000,
            payload: { i },
          } as never);
        }
        s.samples.append(
          [0, 30_000, 60_000, 90_000].map((d, i) => ({
            ts: T0 + d,
            owner: 'acme',
            app: 'echo',
            pending: i,
            setup: 1,
            idle: 2,
            running: i * 2,
            draining: 0,
          })),
        );
        s.runners.upsertRunner(runnerFixture('ra', { revisionId: 'echo-r' }));
        s.runners.upsertRunner(runnerFixture('rb', { revisionId: 'echo-s' }));
        await seedRequest(s, 'x1', done(T0, T0 + 10, 200, { runnerId: 'ra' }));
        await seedRequest(s, 'x2', done(T0, T0 + 10, 200, { runnerId: 'rb', endpointId: 'acme/echo/v2' }));
        await seedRequest(s, 'x3', done(T0, T0 + 10, 200, { runnerId: 'rb' }));
        await seedRequest(s, 'x4', { sentAt: T0, endedAt: null });
        await s.flush();
      });

      it('lists apps of an environment by name, with search, and tells which exist', async () => {
        const list = await s.reads.apps.list({ owner: 'acme', environment: 'main', search: null });
        expect(list.map((a) => [a.name, a.manifest.name])).toEqual([
          ['beta', 'beta'],
          ['echo', 'echo'],
        ]);
        expect(
          (await s.reads.apps.list({ owner: 'acme', environment: 'main', search: 'ET' })).map((a) => a.name),
        ).toEqual(['beta']);
        expect(await s.reads.apps.list({ owner: 'acme', environment: 'staging', search: null })).toEqual([]);
        expect(await s.reads.apps.exists({ owner: 'acme', app: 'echo' })).toBe(true);
        expect(await s.reads.apps.exists({ owner: 'acme', app: 'nope' })).toBe(false);
      });

      it('pages revisions and events newest first', async () => {
        const revs = await s.reads.apps.revisions({ owner: 'acme', app: 'echo', before: null, limit: 1 });
        expect(revs.map((r) => [r.revision_id, r.is_current])).toEqual([
          [`echo-r${T0 - 2000}`, true],
          [`echo-r${T0 - 3000}`, false],
        ]);
        const next = await s.reads.apps.revisions({
          owner: 'acme',
          app: 'echo',
          before: { t: T0 - 2000, k: `echo-r${T0 - 2000}` },
          limit: 5,
        });
        expect(next.map((r) => r.revision_id)).toEqual([`echo-r${T0 - 3000}`]);
        const ev = { owner: 'acme', app: 'echo', start: T0, end: T0 + 10_000, before: null };
        const all = await s.reads.apps.events({ ...ev, categories: null, limit: 10 });
        expect(all.map((e) => e.event_id)).toEqual(['e4', 'e3', 'e2', 'e1', 'e0']);
        expect(all[0]!.payload).toEqual({ i: 4 });
        const deploys = await s.reads.apps.events({ ...ev, categories: ['deployment'], limit: 1, offset: 1 });
        expect(deploys.map((e) => e.event_id)).toEqual(['e1']);
      });

      it('buckets runner samples and counts traffic by revision', async () => {
        const buckets = await s.reads.apps.runnerBuckets({
          owner: 'acme',
          app: 'echo',
          start: T0,
          end: T0 + HOUR_MS,
          origin: T0,
          width: MINUTE_MS,
        });
        expect(buckets).toEqual([
          {
            b: 0,
            n: 2,
            max_running: 2,
            max_idle: 2,
            max_pending: 2,
            max_draining: 0,
            sum_running: 2,
            sum_idle: 4,
            sum_pending: 3,
            sum_draining: 0,
          },
          {
            b: 1,
            n: 2,
            max_running: 6,
            max_idle: 2,
            max_pending: 4,
            max_draining: 0,
            sum_running: 10,
            sum_idle: 4,
            sum_pending: 7,
            sum_draining: 0,
          },
        ]);
        expect(await s.reads.apps.revisionTraffic({ owner: 'acme', app: 'echo', since: T0 - 1 })).toEqual([
          { revision_id: 'echo-s', requests: 2 },
          { revision_id: 'echo-r', requests: 1 },
        ]);
      });
    });
  });
}
