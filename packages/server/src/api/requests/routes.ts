import {
  assertAllowed,
  type Clock,
  DAY_MS,
  decodeCursor,
  encodeCursor,
  type FileStore,
  falPageNumber,
  falPageOffset,
  type ListRequestsParams,
  PlatformError,
  type PlatformReads,
  pageInfo,
  parseList,
  type RequestPosition,
  resolveTimeWindow,
} from '@hangar/core';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../../http/app.js';
import { payloadPageBody } from '../../storage/payload-page.js';
import { MultiString } from '../analytics/params.js';
import { pageBody } from '../page-body.js';
import type { AppLookup } from './endpoint-access.js';
import { authorizeEndpoints } from './endpoint-access.js';

/** Dependencies of the requests listing. */
export interface RequestsRoutesDeps {
  reads: Pick<PlatformReads, 'requestsPage'>;
  apps: AppLookup;
  clock: Clock;
  /** Longest accepted `start`..`end` span, in days. */
  maxRangeDays: number;
  /** Where payloads kept as objects are read from (`expand=payloads`). */
  objects?: FileStore;
}

const Querystring = Type.Object({
  endpoint_id: MultiString,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String()),
  start: Type.Optional(Type.String()),
  end: Type.Optional(Type.String()),
  status: Type.Optional(Type.Enum(['success', 'error', 'user_error'])),
  request_id: Type.Optional(Type.String()),
  expand: Type.Optional(MultiString),
  sort_by: Type.Optional(Type.Enum(['ended_at', 'duration'], { default: 'ended_at' })),
});

const DateTime = Type.String({ format: 'date-time' });

const RequestItem = Type.Object({
  request_id: Type.String(),
  endpoint_id: Type.String(),
  started_at: DateTime,
  sent_at: DateTime,
  ended_at: Type.Union([DateTime, Type.Null()]),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  duration: Type.Union([Type.Number(), Type.Null()]),
  runner_id: Type.Union([Type.String(), Type.Null()]),
  json_input: Type.Optional(Type.Unknown()),
  json_output: Type.Optional(Type.Unknown()),
  billable_units: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
});

const ListResponse = Type.Object({
  items: Type.Array(RequestItem),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
});

const REQUEST_ID_WINDOW_DAYS = 90;

function positionOf(cursor: string | undefined, kind: string): RequestPosition | null {
  if (cursor === undefined || falPageNumber(cursor) !== null) return null;
  const [phase, key, id] = decodeCursor(cursor, kind, 3);
  if ((phase !== 'd' && phase !== 'o') || typeof key !== 'number' || typeof id !== 'string') {
    throw new PlatformError('REQUEST_INVALID', 'cursor is not a cursor issued by this operation');
  }
  return { phase, key, id };
}

/** Registers `GET /v1/serverless/requests/by-endpoint`. */
export function registerRequestsRoutes(app: HttpApp, deps: RequestsRoutesDeps): void {
  app.get(
    '/v1/serverless/requests/by-endpoint',
    {
      config: { auth: 'api' },
      schema: {
        tags: ['Requests'],
        operationId: 'serverlessListRequestsByEndpoint',
        querystring: Querystring,
        response: { 200: ListResponse },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const q = request.query;
      const ids = parseList(q.endpoint_id, 'endpoint_id', { min: 1, max: 50 });
      const expand = parseList(q.expand, 'expand');
      assertAllowed(expand, ['payloads', 'billing'], 'expand');
      const sortBy = q.sort_by ?? 'ended_at';
      const kind = `requests:${sortBy}`;
      const after = positionOf(q.cursor, kind);
      const requestId = q.request_id ?? null;
      const defaultDays = requestId === null ? 1 : Math.min(REQUEST_ID_WINDOW_DAYS, deps.maxRangeDays);
      const win = resolveTimeWindow(
        { start: q.start, end: q.end, bound_to_timeframe: 'false' },
        { now: deps.clock(), defaultSpanMs: defaultDays * DAY_MS, maxRangeDays: deps.maxRangeDays },
      );
      const endpoints = await authorizeEndpoints(principal, ids, deps.apps);
      const params: ListRequestsParams = {
        endpoints,
        startMs: win.startMs,
        endMs: win.endMs,
        status: q.status ?? null,
        requestId,
        sortBy,
        limit: q.limit ?? 50,
        after,
        offset: falPageOffset(q.cursor, q.limit ?? 50),
        payloads: expand.includes('payloads'),
        billing: expand.includes('billing'),
      };
      // Serialised on the query thread: stored payloads reach the socket as the text they were stored as.
      const page = await deps.reads.requestsPage(params);
      const next = page.next ? encodeCursor(kind, [page.next.phase, page.next.key, page.next.id]) : null;
      const json = pageBody(page, pageInfo(next));
      const body = deps.objects ? await payloadPageBody(deps.objects, json, page.objects) : json;
      // Sent as it is (text, or a stream of text and objects): the response schema documents the body.
      return (reply as FastifyReply).type('application/json; charset=utf-8').send(body);
    },
  );
}
