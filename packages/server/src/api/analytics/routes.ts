import {
  ANALYTICS_METRICS,
  type AnalyticsMetric,
  type AnalyticsParams,
  assertAllowed,
  type Clock,
  clampLimit,
  PlatformError,
  type PlatformReads,
  parseList,
  resolveTimeWindow,
} from '@hangar/core';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../../http/app.js';
import { sendPage } from '../page-body.js';
import { type AppLookup, authorizeEndpoints } from '../requests/endpoint-access.js';
import { BUCKET_LIMIT, bucketFromCursor, bucketPage, MultiString, TimeSeriesParams } from './params.js';

/** Dependencies of the analytics operation. */
export interface AnalyticsRoutesDeps {
  reads: Pick<PlatformReads, 'analyticsPage'>;
  apps: AppLookup;
  clock: Clock;
  maxRangeDays: number;
}

const Querystring = Type.Object({
  ...TimeSeriesParams,
  endpoint_id: MultiString,
  expand: Type.Optional(MultiString),
});

const COUNT_METRICS = new Set<string>(ANALYTICS_METRICS.filter((m) => m.endsWith('_count')));

const AnalyticsRecord = Type.Object({
  endpoint_id: Type.String(),
  ...Object.fromEntries(
    ANALYTICS_METRICS.map((m) => [
      m,
      Type.Optional(
        COUNT_METRICS.has(m)
          ? Type.Integer({ minimum: 0 })
          : m === 'total_billable_duration'
            ? Type.Number({ minimum: 0 })
            : Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
      ),
    ]),
  ),
});

const AnalyticsResponse = Type.Object({
  time_series: Type.Optional(
    Type.Array(Type.Object({ bucket: Type.String(), results: Type.Array(AnalyticsRecord) })),
  ),
  summary: Type.Optional(Type.Array(AnalyticsRecord)),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
});

const SECTIONS = ['time_series', 'summary'];
const DEFAULT_EXPAND = ['time_series', 'request_count'];

/** Splits `expand` into sections and metrics; at least one of each is required. */
function parseExpand(value: string | string[] | undefined) {
  const expand = value === undefined ? DEFAULT_EXPAND : parseList(value, 'expand');
  assertAllowed(expand, [...SECTIONS, ...ANALYTICS_METRICS], 'expand');
  const metrics = ANALYTICS_METRICS.filter((m) => expand.includes(m));
  const timeSeries = expand.includes('time_series');
  const summary = expand.includes('summary');
  if (!timeSeries && !summary) {
    throw new PlatformError('REQUEST_INVALID', 'expand must include time_series and/or summary');
  }
  if (metrics.length === 0)
    throw new PlatformError('REQUEST_INVALID', 'expand must include at least one metric');
  return { metrics: metrics as AnalyticsMetric[], timeSeries, summary };
}

/** Registers `GET /v1/serverless/analytics`. */
export function registerAnalyticsRoutes(app: HttpApp, deps: AnalyticsRoutesDeps): void {
  app.get(
    '/v1/serverless/analytics',
    {
      config: { auth: 'api' },
      schema: {
        tags: ['Analytics'],
        operationId: 'serverlessGetAnalytics',
        querystring: Querystring,
        response: { 200: AnalyticsResponse },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const ids = parseList(q.endpoint_id, 'endpoint_id', { min: 1, max: 50 });
      const { metrics, timeSeries, summary } = parseExpand(q.expand);
      const limit = clampLimit(q.limit, BUCKET_LIMIT.fallback, BUCKET_LIMIT.max);
      const window = resolveTimeWindow(q, { now: deps.clock(), maxRangeDays: deps.maxRangeDays });
      const fromMs = bucketFromCursor('analytics', q.cursor, window, limit);
      const endpoints = await authorizeEndpoints(principalOf(request), ids, deps.apps);
      const params: AnalyticsParams = { endpoints, window, fromMs, limit, metrics, timeSeries, summary };
      // Serialised on the query thread: the schema above documents the body (and the tests check it).
      const page = await deps.reads.analyticsPage(params);
      return sendPage(reply as FastifyReply, page, bucketPage('analytics', page.nextBucket, window));
    },
  );
}
