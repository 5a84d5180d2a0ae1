import {
  ANALYTICS_METRICS,
  type AnalyticsParams,
  DAY_MS,
  HOUR_MS,
  type ListRequestsParams,
  type LogFilter,
  type PlatformReads,
  serializePage,
  type UsageParams,
} from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sqliteApps from '../../../api/apps/queries.js';
import { foldRunnerHistory, historyBuckets } from '../../../api/apps/runner-history.js';
import { logsAfter, logsFirstIdFrom, logsHistoryPage } from '../../../api/logs/queries.js';
import { queryAnalytics } from '../../../query/analytics.js';
import { listRequestsJson } from '../../../query/requests.js';
import { queryUsage } from '../../../query/usage.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../../test-services/postgres.test-helper.js';
import { createPostgresReads, createPostgresRollupSink } from './index.js';
import { DAYS, type SeededWorld, seedWorld, T0 } from './seed.test-helper.js';

const END = T0 + DAYS * DAY_MS;

function filter(over: Partial<LogFilter> = {}): LogFilter {
  return {
    owner: 'acme',
    start: T0,
    end: END,
    apps: null,
    revision: null,
    runSource: null,
    traceback: false,
    search: null,
    levels: null,
    jobId: null,
    requestId: null,
    labels: [],
    ...over,
  };
}

describe.skipIf(postgresMissing !== null)('PostgreSQL reads answer as the SQLite reads do', () => {
  let server: PgTestServer;
  let world: SeededWorld;
  let reads: PlatformReads;
  const warnings: string[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    world = await seedWorld(await server.createDatabase());
    // Two nodes' sinks merging at once into the same hour and day cells (minute rows split in halves).
    const fail = (err: unknown) => {
      throw err;
    };
    const sinks = [createPostgresRollupSink(world.pool, fail), createPostgresRollupSink(world.pool, fail)];
    const rows = world.rollupRows;
    for (let i = 0; i < rows.length; i += 25) sinks[(i / 25) % 2]!.record(rows.slice(i, i + 25));
    await Promise.all(sinks.map((s) => s.flush()));
    reads = createPostgresReads(world.pool, { warn: (m) => warnings.push(m) });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await server?.close();
  });

  const requestParams = (over: Partial<ListRequestsParams>): ListRequestsParams => ({
    endpoints: [{ id: 'acme/echo', bare: true }],
    startMs: T0,
    endMs: END + DAY_MS,
    status: null,
    requestId: null,
    sortBy: 'ended_at',
    limit: 37,
    after: null,
    payloads: false,
    billing: false,
    ...over,
  });

  it.each([
    ['newest first', {}],
    ['by duration over a long window', { sortBy: 'duration' as const }],
    [
      'by duration within a day',
      { sortBy: 'duration' as const, startMs: T0 + DAY_MS, endMs: T0 + 2 * DAY_MS },
    ],
    ['errors only', { status: 'error' as const }],
    [
      'user errors, several endpoints',
      {
        status: 'user_error' as const,
        endpoints: [
          { id: 'acme/echoes', bare: true },
          { id: 'beta/echo', bare: false },
        ],
      },
    ],
    ['with payloads and billing', { payloads: true, billing: true, limit: 50 }],
    ['page-number offset', { offset: 40 }],
  ])('pages through requests (%s) with the same items and cursors', async (_, over) => {
    let p = requestParams(over);
    let pages = 0;
    for (;;) {
      const want = listRequestsJson(world.sqlite, p);
      const got = await reads.requestsPage(p);
      expect(JSON.parse(got.json)).toEqual(JSON.parse(want.json));
      expect(got.next).toEqual(want.next);
      expect(got.objects).toEqual(want.objects);
      pages++;
      if (!want.next || p.offset) break;
      p = { ...p, after: want.next };
    }
    expect(pages).toBeGreaterThan(0);
  });

  it('finds one request by id, and only inside the filters', async () => {
    for (const over of [
      { requestId: 'req-0005' },
      { requestId: 'req-0005', status: 'success' as const },
      { requestId: 'nope' },
    ]) {
      const p = requestParams({
        ...over,
        endpoints: [
          { id: 'acme', bare: true },
          ...['acme/echo', 'acme/echo/fast', 'acme/echoes', 'acme/other', 'beta/echo'].map((id) => ({
            id,
            bare: false,
          })),
        ],
      });
      const want = listRequestsJson(world.sqlite, p);
      expect(JSON.parse((await reads.requestsPage(p)).json)).toEqual(JSON.parse(want.json));
    }
  });

  const analytics = (over: Partial<AnalyticsParams>): AnalyticsParams => ({
    endpoints: [
      { id: 'acme/echo', bare: true },
      { id: 'beta/echo', bare: false },
    ],
    window: { startMs: T0, endMs: END, timeframe: 'day', timezone: 'UTC' },
    fromMs: null,
    limit: 100,
    metrics: [...ANALYTICS_METRICS],
    timeSeries: true,
    summary: true,
    ...over,
  });

  it.each([
    ['daily, UTC', {}],
    [
      'hourly in Kolkata (+05:30), paged',
      {
        window: {
          startMs: T0 + 30 * 60_000,
          endMs: T0 + 3 * DAY_MS + 30 * 60_000,
          timeframe: 'hour' as const,
          timezone: 'Asia/Kolkata',
        },
        limit: 24,
      },
    ],
    [
      'weekly in New York',
      {
        window: {
          startMs: T0 - 5 * HOUR_MS,
          endMs: END,
          timeframe: 'week' as const,
          timezone: 'America/New_York',
        },
      },
    ],
    [
      'by the minute, summary only',
      {
        window: {
          startMs: T0 + 17 * 60_000,
          endMs: T0 + 5 * HOUR_MS,
          timeframe: 'minute' as const,
          timezone: 'UTC',
        },
        timeSeries: false,
      },
    ],
    [
      'an app prefix that only matches itself',
      {
        endpoints: [{ id: 'acme/echoes', bare: true }],
        metrics: ['request_count', 'p50_duration'] as AnalyticsParams['metrics'],
      },
    ],
  ])('answers analytics (%s) alike', async (_, over) => {
    const p = analytics(over);
    expect(JSON.parse((await reads.analyticsPage(p)).json)).toEqual(
      JSON.parse(serializePage(queryAnalytics(world.sqlite, p)).json),
    );
    expect((await reads.analyticsPage(p)).nextBucket).toEqual(queryAnalytics(world.sqlite, p).nextBucket);
  });

  const usage = (over: Partial<UsageParams>): UsageParams => ({
    owner: 'acme',
    apps: null,
    search: null,
    window: { startMs: T0, endMs: END, timeframe: 'day', timezone: 'UTC' },
    fromMs: null,
    limit: 100,
    timeSeries: true,
    summary: true,
    prices: {
      'GPU-H100': { unitPrice: 0.0012, surgeMultiplier: 1.5 },
      CPU: { unitPrice: 0.0001, surgeMultiplier: 1 },
    },
    percentDiscount: 12.5,
    currency: 'USD',
    ...over,
  });

  it.each([
    ['daily', {}],
    [
      'hourly in Kathmandu (+05:45), paged',
      {
        window: {
          startMs: T0,
          endMs: T0 + 2 * DAY_MS,
          timeframe: 'hour' as const,
          timezone: 'Asia/Kathmandu',
        },
        limit: 30,
      },
    ],
    ['named apps', { apps: ['echo', 'other'] }],
    ['searched apps', { search: 'ECHO' }],
    [
      'with live rows',
      {
        live: [
          {
            runnerId: 'acme-echo-run0',
            minute: T0 + 7 * 60_000,
            owner: 'acme',
            app: 'echo',
            environment: 'main',
            machineType: 'CPU',
            isSurge: false,
            seconds: 60,
          },
          {
            runnerId: 'new',
            minute: T0 + 60_000,
            owner: 'acme',
            app: 'echoes',
            environment: 'main',
            machineType: 'CPU',
            isSurge: true,
            seconds: 12.5,
          },
        ],
      },
    ],
  ])('answers usage (%s) alike', async (_, over) => {
    const p = usage(over);
    const want = serializePage(queryUsage(world.sqlite, p));
    const got = await reads.usagePage(p);
    expect(JSON.parse(got.json)).toEqual(JSON.parse(want.json));
    expect(got.nextBucket).toEqual(want.nextBucket);
  });

  it.each([
    ['everything', {}],
    ['apps, levels and a revision', { apps: ['echo'], levels: ['warn', 'error'], revision: 'rev1' }],
    ['tracebacks and a run source', { traceback: true, runSource: 'grpc-run' as const }],
    ['gateway run source', { runSource: 'gateway' as const }],
    [
      'labels',
      {
        labels: [
          { key: 'zone', op: 'in' as const, values: ['eu', 'us'] },
          { key: 'source', op: 'ne' as const, values: ['gateway'] },
        ],
      },
    ],
    [
      'missing labels',
      {
        labels: [
          { key: 'zone', op: 'nin' as const, values: ['eu'] },
          { key: 'fal_job_id', op: 'eq' as const, values: ['run1'] },
        ],
      },
    ],
    ['a request', { requestId: 'req-0007' }],
    ['a common needle', { search: 'line' }],
    ['a needle in another case', { search: 'BRAVO CH' }],
    ['a rare needle', { search: 'line 2999' }],
    ['LIKE wildcards in the needle', { search: '50%off' }],
    ['an underscore needle', { search: 'a_9' }],
    ['a backslash needle', { search: 'k\\sl' }],
    ['a short needle', { search: 'ta' }],
    ['a non-ASCII needle (ASCII case folding only)', { search: 'éclair' }],
    ['an absent needle', { search: 'nowhere to be found' }],
  ])('pages through log history (%s) alike', async (_, over) => {
    let bounds: LogsHistoryParamsBounds = [];
    let pages = 0;
    for (;;) {
      const p = { filter: filter(over), bounds, limit: 97 };
      const want = logsHistoryPage(world.sqlite, p);
      const got = await reads.logs.historyPage(p);
      expect(JSON.parse(got.itemsJson)).toEqual(JSON.parse(want.itemsJson));
      expect(got.next).toEqual(want.next);
      if (!want.next || ++pages > 40) break;
      const ns = Number(/\.\d{3}(\d{6})Z$/.exec(want.next)?.[1] ?? '0');
      bounds = [{ ts: Date.parse(want.next), ns }];
    }
  });

  it('reads lines after an id and where a stream starts, alike', async () => {
    for (const f of [filter(), filter({ search: 'alpha', apps: ['other'] }), filter({ owner: 'beta' })]) {
      for (const afterId of [0, 1000, 2990]) {
        const want = logsAfter(world.sqlite, { filter: f, afterId, limit: 50 });
        const got = await reads.logs.after({ filter: f, afterId, limit: 50 });
        expect(got).toEqual(want.map((r) => ({ ...r, labels: JSON.parse(r.labels) })));
      }
    }
    for (const [owner, start] of [
      ['acme', T0 + DAY_MS],
      ['acme', T0 - DAY_MS],
      ['beta', END + DAY_MS],
      ['nobody', T0],
    ] as const) {
      expect(await reads.logs.firstIdFrom({ owner, start })).toBe(
        logsFirstIdFrom(world.sqlite, { owner, start }),
      );
    }
  });

  it('lists apps, revisions, events, runner buckets and revision traffic alike', async () => {
    for (const p of [
      { owner: 'acme', environment: 'main', search: null },
      { owner: 'acme', environment: 'staging', search: null },
      { owner: 'acme', environment: 'main', search: 'OES' },
    ]) {
      expect(await reads.apps.list(p)).toEqual(
        sqliteApps.appsList(world.sqlite, p).map((r) => ({ ...r, manifest: JSON.parse(r.manifest) })),
      );
    }
    for (const p of [
      { owner: 'acme', app: 'echo' },
      { owner: 'acme', app: 'nope' },
    ]) {
      expect(await reads.apps.exists(p)).toBe(sqliteApps.appExists(world.sqlite, p));
    }
    const rev = { owner: 'acme', app: 'echo', limit: 1 };
    for (const p of [
      { ...rev, before: null },
      { ...rev, before: { t: T0 + 2 * HOUR_MS, k: 'acme-echo-r2' } },
      { ...rev, before: null, offset: 1 },
    ]) {
      const want = sqliteApps.appRevisions(world.sqlite, p).map((r) => ({
        ...r,
        annotations: r.annotations === null ? null : JSON.parse(r.annotations),
        is_current: r.is_current === 1,
      }));
      expect(await reads.apps.revisions(p)).toEqual(want);
    }
    const ev = { owner: 'acme', app: 'echo', start: T0, end: T0 + DAY_MS, limit: 5 };
    for (const p of [
      { ...ev, categories: null, before: null },
      { ...ev, categories: ['runner_started'], before: { t: T0 + 20 * HOUR_MS, k: 'ev-040' } },
      { ...ev, categories: null, before: null, offset: 3 },
    ]) {
      const want = sqliteApps
        .appEvents(world.sqlite, p)
        .map((r) => ({ ...r, payload: JSON.parse(r.payload) }));
      expect(await reads.apps.events(p)).toEqual(want);
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
      expect(fold(await reads.apps.runnerBuckets(p))).toEqual(
        fold(sqliteApps.runnerSampleBuckets(world.sqlite, p)),
      );
    }
    for (const p of [
      { owner: 'acme', app: 'echo', since: T0 },
      { owner: 'acme', app: 'echo', since: T0 + 5 * DAY_MS },
    ]) {
      expect(await reads.apps.revisionTraffic(p)).toEqual(sqliteApps.revisionTraffic(world.sqlite, p));
    }
  });
});

type LogsHistoryParamsBounds = { ts: number; ns: number }[];
