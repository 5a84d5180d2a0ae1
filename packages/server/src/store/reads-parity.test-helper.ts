import {
  ANALYTICS_METRICS,
  type AnalyticsParams,
  DAY_MS,
  HOUR_MS,
  type ListRequestsParams,
  type PlatformReads,
  type UsageParams,
} from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { describeLogAndAppParity } from './reads-parity-logs.test-helper.js';
import { END, type ParityWorld, T0 } from './reads-world.test-helper.js';

// The parity cases: an engine's reads answer byte for byte what the SQLite reads answer (the same JSON
// texts, cursors and rows) over one world written through the write ports (reads-world.test-helper.ts).
// Written once, run on every engine besides SQLite.

/** An engine whose reads are compared with SQLite's. */
export interface ParityEngine {
  name: string;
  /** Why the engine's cases skip on this machine (one line), or null when they run. */
  skip: string | null;
}

/**
 * Declares every parity case for `engine`; `open` registers (with vitest hooks) the world of the calling
 * test file and returns its reads.
 */
export function describeReadsParity(engine: ParityEngine, open: () => ParityWorld): void {
  describe.skipIf(engine.skip !== null)(`${engine.name} reads answer as SQLite`, () => {
    const w = open();
    describe('requests, analytics and usage', () => describeRequestParity(w));
    describe('logs and apps', () => describeLogAndAppParity(w));
  });
}

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

const analyticsParams = (over: Partial<AnalyticsParams>): AnalyticsParams => ({
  endpoints: [
    { id: 'acme/echo', bare: true },
    { id: 'beta/echo', bare: false },
    { id: 'acme/none', bare: true },
  ],
  window: { startMs: T0, endMs: END, timeframe: 'day', timezone: 'UTC' },
  fromMs: null,
  limit: 100,
  metrics: [...ANALYTICS_METRICS],
  timeSeries: true,
  summary: true,
  ...over,
});

const usageParams = (over: Partial<UsageParams>): UsageParams => ({
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

const live = (runnerId: string, minute: number, app: string, seconds: number, isSurge = false) => ({
  runnerId,
  minute,
  owner: 'acme',
  app,
  environment: 'main',
  machineType: 'CPU',
  isSurge,
  seconds,
});

/** Every endpoint of the world, as exact ids, under the bare owner. */
const EVERY_ENDPOINT = [
  { id: 'acme', bare: true },
  ...['acme/echo', 'acme/echo/fast', 'acme/echoes', 'acme/other', 'beta/echo'].map((id) => ({
    id,
    bare: false,
  })),
];

function describeRequestParity(w: ParityWorld): void {
  it.each([
    ['newest first', {}],
    ['by duration over a long window', { sortBy: 'duration' as const }],
    [
      'by duration within a day',
      { sortBy: 'duration' as const, startMs: T0 + DAY_MS, endMs: T0 + 2 * DAY_MS },
    ],
    ['errors only', { status: 'error' as const }],
    ['successes only', { status: 'success' as const, limit: 11 }],
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
    ['an exact endpoint only', { endpoints: [{ id: 'acme/echo', bare: false }] }],
    ['with payloads and billing', { payloads: true, billing: true, limit: 50 }],
    ['page-number offset', { offset: 40 }],
    ['an offset past the end', { offset: 5000 }],
  ])('pages through requests (%s) with the same items and cursors', async (_, over) => {
    let p = requestParams(over);
    let pages = 0;
    for (;;) {
      const want = await w.sqlite.requestsPage(p);
      const got = await w.reads.requestsPage(p);
      expect(got.json).toBe(want.json);
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
      { requestId: 'req-0017' },
      { requestId: 'req-0005', status: 'success' as const },
      { requestId: 'req-0005', startMs: END + DAY_MS, endMs: END + 2 * DAY_MS },
      { requestId: 'nope' },
    ]) {
      for (const endpoints of [
        [
          { id: 'acme', bare: true },
          { id: 'acme/echo', bare: true },
        ],
        EVERY_ENDPOINT,
      ]) {
        const p = requestParams({ ...over, endpoints });
        expect((await w.reads.requestsPage(p)).json).toBe((await w.sqlite.requestsPage(p)).json);
      }
    }
  });

  it.each([
    ['daily, UTC', {}],
    ['daily, known endpoints only', { endpoints: analyticsParams({}).endpoints.slice(0, 2) }],
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
  ])('answers analytics (%s) alike, page by page', async (_, over) => {
    await sameBucketPages(w, analyticsParams(over), (r, p) => r.analyticsPage(p));
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
    ['no discount, summary only', { percentDiscount: null, timeSeries: false }],
    ['another owner', { owner: 'beta' }],
    [
      'with live rows',
      {
        live: [
          live('acme-echo-run0', T0 + 7 * 60_000, 'echo', 60),
          live('acme-echo-run0', T0 + 7 * 60_000, 'echo', 61),
          live('new', T0 + 60_000, 'echoes', 12.5),
          live('other-owner', T0 + 60_000, 'echo', 5),
        ],
      },
    ],
    [
      'with a live surge row',
      {
        live: [
          live('acme-echo-run0', T0 + 7 * 60_000, 'echo', 60),
          live('new', T0 + 60_000, 'echoes', 12.5, true),
        ],
      },
    ],
  ])('answers usage (%s) alike, page by page', async (_, over) => {
    await sameBucketPages(w, usageParams(over), (r, p) => r.usagePage(p));
  });
}

/** Follows `page`'s `nextBucket` on both engines, expecting the same pages. */
async function sameBucketPages<P extends { fromMs: number | null }>(
  w: ParityWorld,
  first: P,
  page: (r: PlatformReads, p: P) => Promise<{ json: string; nextBucket: number | null }>,
): Promise<void> {
  let p = first;
  for (let pages = 0; pages < 20; pages++) {
    const want = await page(w.sqlite, p);
    const got = await page(w.reads, p);
    expect(got.json).toBe(want.json);
    expect(got.nextBucket).toBe(want.nextBucket);
    if (want.nextBucket === null) break;
    p = { ...p, fromMs: want.nextBucket };
  }
}
