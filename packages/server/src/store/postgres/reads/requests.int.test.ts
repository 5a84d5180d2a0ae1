import {
  ANALYTICS_METRICS,
  type AnalyticsParams,
  DAY_MS,
  HOUR_MS,
  type ListRequestsParams,
  type UsageParams,
} from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { postgresMissing } from '../../../test-services/postgres.test-helper.js';
import { DAYS, T0 } from './seed.test-helper.js';
import { useSeededWorld } from './world.test-helper.js';

// The PostgreSQL reads of requests, analytics and usage answer exactly as the SQLite queries do, over one
// world written through the SQLite write ports and copied into PostgreSQL.

const END = T0 + DAYS * DAY_MS;

describe.skipIf(postgresMissing !== null)('PostgreSQL requests, analytics and usage reads', () => {
  const w = useSeededWorld();

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
      const want = await w.sqlite.requestsPage(p);
      const got = await w.reads.requestsPage(p);
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
      const want = await w.sqlite.requestsPage(p);
      expect(JSON.parse((await w.reads.requestsPage(p)).json)).toEqual(JSON.parse(want.json));
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
    expect(JSON.parse((await w.reads.analyticsPage(p)).json)).toEqual(
      JSON.parse((await w.sqlite.analyticsPage(p)).json),
    );
    expect((await w.reads.analyticsPage(p)).nextBucket).toEqual((await w.sqlite.analyticsPage(p)).nextBucket);
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
    const want = await w.sqlite.usagePage(p);
    const got = await w.reads.usagePage(p);
    expect(JSON.parse(got.json)).toEqual(JSON.parse(want.json));
    expect(got.nextBucket).toEqual(want.nextBucket);
  });
});
