import {
  type AppReads,
  type Clock,
  EVENT_CATEGORIES,
  falPageOffset,
  PlatformError,
  resolveTimeWindow,
  TIMEFRAMES,
} from '@hangar/core';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../../http/app.js';
import { AppParams, requireOwnedApp } from './access.js';
import { afterCursor, pageOf } from './paging.js';
import { baseWidth, foldRunnerHistory, historyBuckets } from './runner-history.js';
import { resolveWindow } from './time-window.js';
import {
  AppEventsResponse,
  AppRevisionsResponse,
  RunnerHistoryResponse,
  toWireEvent,
  toWireRevision,
} from './wire.js';

const Range = { start: Type.Optional(Type.String()), end: Type.Optional(Type.String()) };

const HistoryQuery = Type.Object({
  ...Range,
  timeframe: Type.Optional(Type.Enum(TIMEFRAMES)),
  aggregation: Type.Enum(['max', 'avg'], { default: 'max' }),
});
const EventsQuery = Type.Object({
  ...Range,
  category: Type.Optional(Type.Array(Type.String())),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
});
const RevisionsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 500 })),
});

const CATEGORIES: ReadonlySet<string> = new Set(EVENT_CATEGORIES);

/** Splits repeated and comma-separated categories, validating each. */
function categoriesOf(values: string[] | undefined): string[] | null {
  if (values === undefined) return null;
  const cats = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const bad = cats.find((c) => !CATEGORIES.has(c));
  if (bad !== undefined) throw new PlatformError('REQUEST_INVALID', `unknown category "${bad}"`);
  return [...new Set(cats)];
}

/** Registers runner history, events and revisions of one app. */
export function registerAppHistoryRoutes(app: HttpApp, reads: AppReads, clock: Clock): void {
  app.get(
    '/v1/serverless/apps/:owner/:name/runners/history',
    {
      schema: {
        operationId: 'serverlessGetRunnerHistory',
        params: AppParams,
        querystring: HistoryQuery,
        response: { 200: RunnerHistoryResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      await requireOwnedApp(reads, principalOf(request), owner, name);
      const q = request.query;
      const win = resolveTimeWindow({ ...q, timezone: 'UTC' }, { now: clock(), maxRangeDays: 90 });
      const buckets = historyBuckets(win);
      const range = { start: win.startMs, end: win.endMs, origin: win.startMs, width: baseWidth(win) };
      const rows = await reads.runnerBuckets({ owner, app: name, ...range });
      const history = foldRunnerHistory(rows, win, buckets, q.aggregation);
      return {
        endpoint_id: `${owner}/${name}`,
        timeframe: win.timeframe,
        aggregation: q.aggregation,
        history,
      };
    },
  );

  app.get(
    '/v1/serverless/apps/:owner/:name/events',
    {
      schema: {
        operationId: 'serverlessListAppEvents',
        params: AppParams,
        querystring: EventsQuery,
        response: { 200: AppEventsResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      await requireOwnedApp(reads, principalOf(request), owner, name);
      const q = request.query;
      const w = resolveWindow(q, clock());
      const before = afterCursor(q.cursor, 'app-events');
      const offset = falPageOffset(q.cursor, q.limit);
      const categories = categoriesOf(q.category);
      const params = { owner, app: name, ...w, categories, before, limit: q.limit, offset };
      const rows = await reads.events(params);
      const page = pageOf(rows, q.limit, 'app-events', (r) => [r.created_at, r.event_id]);
      return {
        endpoint_id: `${owner}/${name}`,
        events: page.items.map(toWireEvent),
        next_cursor: page.next_cursor,
        has_more: page.has_more,
      };
    },
  );

  app.get(
    '/v1/serverless/apps/:owner/:name/revisions',
    {
      schema: {
        operationId: 'serverlessListAppRevisions',
        params: AppParams,
        querystring: RevisionsQuery,
        response: { 200: AppRevisionsResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      await requireOwnedApp(reads, principalOf(request), owner, name);
      const q = request.query;
      const before = afterCursor(q.cursor, 'app-revisions');
      const rows = await reads.revisions({
        owner,
        app: name,
        before,
        limit: q.limit,
        offset: falPageOffset(q.cursor, q.limit),
      });
      const page = pageOf(rows, q.limit, 'app-revisions', (r) => [r.created_at, r.revision_id]);
      return {
        endpoint_id: `${owner}/${name}`,
        revisions: page.items.map(toWireRevision),
        next_cursor: page.next_cursor,
        has_more: page.has_more,
      };
    },
  );
}
