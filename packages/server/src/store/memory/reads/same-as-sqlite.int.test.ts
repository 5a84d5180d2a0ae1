import {
  ANALYTICS_METRICS,
  type AnalyticsParams,
  DAY_MS,
  HOUR_MS,
  type ListRequestsParams,
  type UsageParams,
} from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { DAYS, T0 } from '../../postgres/reads/seed.test-helper.js';
import { useTwinWorld } from './world.test-helper.js';

// The memory reads of requests, analytics and usage answer exactly as the SQLite reads do, over one world
// written through the write ports of both engines.

const END = T0 + DAYS * DAY_MS;

describe('memory requests, analytics and usage reads answer as SQLite', () => {
  const w = useTwinWorld();

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
    ['by duration', { sortBy: 'duration' as const }],
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
      const got = await w.memory.requestsPage(p);
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
      const p = requestParams({
        ...over,
        endpoints: [
          { id: 'acme', bare: true },
          { id: 'acme/echo', bare: true },
        ],
      });
      expect((await w.memory.requestsPage(p)).json).toBe((await w.sqlite.requestsPage(p)).json);
    }
  });

  const analytics = (over: Partial<AnalyticsParams>): AnalyticsParams => ({
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
  ])('answers analytics (%s) alike, page by page', async (_, over) => {
    let p = analytics(over);
    for (let pages = 0; pages < 20; pages++) {
      const want = await w.sqlite.analyticsPage(p);
      const got = await w.memory.analyticsPage(p);
      expect(JSON.parse(got.json)).toEqual(JSON.parse(want.json));
      expect(got.nextBucket).toBe(want.nextBucket);
      if (want.nextBucket === null) break;
      p = { ...p, fromMs: want.nextBucket };
    }
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

  const live = (runnerId: string, minute: number, app: string, seconds: number) => ({
    runnerId,
    minute,
    owner: 'acme',
    app,
    environment: 'main',
    machineType: 'CPU',
    isSurge: false,
    seconds,
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
  ])('answers usage (%s) alike, page by page', async (_, over) => {
    let p = usage(over);
    for (let pages = 0; pages < 20; pages++) {
      const want = await w.sqlite.usagePage(p);
      const got = await w.memory.usagePage(p);
      expect(JSON.parse(got.json)).toEqual(JSON.parse(want.json));
      expect(got.nextBucket).toBe(want.nextBucket);
      if (want.nextBucket === null) break;
      p = { ...p, fromMs: want.nextBucket };
    }
  });
});
