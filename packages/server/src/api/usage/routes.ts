import {
  assertAllowed,
  type Clock,
  clampLimit,
  type MachineType,
  type MeterRecord,
  PlatformError,
  type PlatformReads,
  parseList,
  resolveTimeWindow,
  type UsageParams,
} from '@hangar/core';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../../http/app.js';
import {
  BUCKET_LIMIT,
  bucketFromCursor,
  bucketPage,
  MultiString,
  TimeSeriesParams,
} from '../analytics/params.js';
import { sendPage } from '../page-body.js';

/** Dependencies of the usage operation. */
export interface UsageRoutesDeps {
  reads: Pick<PlatformReads, 'usagePage'>;
  clock: Clock;
  maxRangeDays: number;
  machineTypes: Readonly<Record<string, Readonly<MachineType>>>;
  /** Owner → percent discount (0–100). */
  discounts: Readonly<Record<string, number>>;
  /** ISO 4217 code of the configured prices (default USD). */
  currency?: string;
  /** The owner's running runners' machine time not yet metered, up to `now` (none by default). */
  liveMeter?: (owner: string, now: number) => MeterRecord[];
}

const Querystring = Type.Object({
  ...TimeSeriesParams,
  app: Type.Optional(MultiString),
  search: Type.Optional(Type.String()),
  expand: Type.Optional(MultiString),
});

const Money = Type.Number({ minimum: 0 });

const UsageRow = Type.Object({
  app: Type.Union([Type.String(), Type.Null()]),
  environment: Type.Union([Type.String(), Type.Null()]),
  machine_type: Type.String(),
  unit: Type.String(),
  quantity: Money,
  unit_price: Money,
  percent_discount: Type.Union([Type.Number({ minimum: 0, maximum: 100 }), Type.Null()]),
  cost_subtotal: Money,
  cost_discount: Money,
  cost_total: Money,
  cost: Money,
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  is_surge: Type.Boolean(),
});

const UsageResponse = Type.Object({
  time_series: Type.Optional(
    Type.Array(Type.Object({ bucket: Type.String(), results: Type.Array(UsageRow) })),
  ),
  summary: Type.Optional(Type.Array(UsageRow)),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
});

/** `app` values are deployed names; an `owner/` prefix is accepted and stripped. */
function appNames(value: string | string[] | undefined, owner: string): string[] | null {
  const names = parseList(value, 'app', { max: 50 }).map((a) =>
    a.startsWith(`${owner}/`) ? a.slice(owner.length + 1) : a,
  );
  return names.length === 0 ? null : names;
}

function prices(machineTypes: UsageRoutesDeps['machineTypes']): UsageParams['prices'] {
  return Object.fromEntries(
    Object.entries(machineTypes).map(([name, m]) => [
      name,
      { unitPrice: m.unitPrice, surgeMultiplier: m.surgeMultiplier },
    ]),
  );
}

/** Registers `GET /v1/serverless/usage` (ADMIN keys only). */
export function registerUsageRoutes(app: HttpApp, deps: UsageRoutesDeps): void {
  const priceList = prices(deps.machineTypes);
  app.get(
    '/v1/serverless/usage',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['Usage'],
        operationId: 'serverlessGetUsage',
        querystring: Querystring,
        response: { 200: UsageResponse },
      },
    },
    async (request, reply) => {
      const { owner } = principalOf(request);
      const q = request.query;
      const expand = q.expand === undefined ? ['time_series'] : parseList(q.expand, 'expand');
      assertAllowed(expand, ['time_series', 'summary'], 'expand');
      if (expand.length === 0)
        throw new PlatformError('REQUEST_INVALID', 'expand must include time_series and/or summary');
      const now = deps.clock();
      const window = resolveTimeWindow(q, { now, maxRangeDays: deps.maxRangeDays });
      const discount = deps.discounts[owner] ?? 0;
      const limit = clampLimit(q.limit, BUCKET_LIMIT.fallback, BUCKET_LIMIT.max);
      const params: UsageParams = {
        owner,
        apps: appNames(q.app, owner),
        search: q.search?.trim() ? q.search.trim() : null,
        window,
        fromMs: bucketFromCursor('usage', q.cursor, window, limit),
        limit,
        timeSeries: expand.includes('time_series'),
        summary: expand.includes('summary'),
        prices: priceList,
        percentDiscount: discount > 0 ? discount : null,
        currency: deps.currency ?? 'USD',
        live: deps.liveMeter?.(owner, now) ?? [],
      };
      // Serialised on the query thread: the schema above documents the body (and the tests check it).
      const page = await deps.reads.usagePage(params);
      return sendPage(reply as FastifyReply, page, bucketPage('usage', page.nextBucket, window));
    },
  );
}
