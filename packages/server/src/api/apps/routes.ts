import {
  type AppReads,
  type Clock,
  type Dispatcher,
  type IdempotencyKeys,
  PlatformError,
  systemClock,
} from '@hangar/core';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../../http/app.js';
import { AppParams, requireOwnedApp } from './access.js';
import { registerAppHistoryRoutes } from './history-routes.js';
import { createLocalIdempotencyKeys } from './idempotency.js';
import { ListAppsResponse, QueueSizeResponse, toWireApp } from './wire.js';

/** What the apps routes need. */
export interface AppsRoutesDeps {
  reads: AppReads;
  dispatcher: Pick<Dispatcher, 'stats' | 'flushQueue'>;
  /** Records flushed requests as completed-and-cancelled (the gateway's recorder). */
  onQueueFlushed?: (owner: string, app: string, requestIds: string[]) => void | Promise<void>;
  clock?: Clock;
  /** Where flush idempotency keys live (Redis in a cluster); default this process, 10 minutes. */
  idempotency?: IdempotencyKeys;
}

const ListQuery = Type.Object({
  environment: Type.Optional(Type.String({ minLength: 1 })),
  search: Type.Optional(Type.String({ maxLength: 200 })),
  expand: Type.Optional(Type.Array(Type.String())),
});

/** Splits repeated and comma-separated `expand` values; only `endpoints` exists. */
function wantsEndpoints(expand: string[] | undefined): boolean {
  const values = (expand ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const unknown = values.filter((v) => v !== 'endpoints');
  if (unknown.length > 0) throw new PlatformError('REQUEST_INVALID', `unknown expand value ${unknown[0]}`);
  return values.length > 0;
}

/** Registers the seven `/v1/serverless/apps` operations. */
export function registerAppsRoutes(app: HttpApp, deps: AppsRoutesDeps): void {
  const clock = deps.clock ?? systemClock;
  const idempotency = deps.idempotency ?? createLocalIdempotencyKeys(600_000, clock);

  app.get(
    '/v1/serverless/apps',
    {
      schema: {
        operationId: 'serverlessListApps',
        querystring: ListQuery,
        response: { 200: ListAppsResponse },
      },
    },
    async (request) => {
      const { owner } = principalOf(request);
      const q = request.query;
      const endpoints = wantsEndpoints(q.expand);
      const params = { owner, environment: q.environment ?? 'main', search: q.search || null };
      const rows = await deps.reads.list(params);
      const apps = rows.map((r) => toWireApp(r.owner, r.name, r.updated_at, r.manifest, endpoints));
      return { apps };
    },
  );

  app.get(
    '/v1/serverless/apps/:owner/:name/queue',
    {
      schema: {
        operationId: 'serverlessGetAppQueueInfo',
        params: AppParams,
        response: { 200: QueueSizeResponse },
      },
    },
    async (request) => {
      const { owner, name } = request.params;
      await requireOwnedApp(deps.reads, principalOf(request), owner, name);
      const live = deps.dispatcher.stats(owner).find((s) => s.app === name);
      return { queue_size: live?.queueSize ?? 0 };
    },
  );

  app.delete(
    '/v1/serverless/apps/:owner/:name/queue',
    {
      schema: {
        operationId: 'serverlessFlushAppQueue',
        params: AppParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 255 })) }),
      },
    },
    async (request: FastifyRequest<{ Params: { owner: string; name: string } }>, reply) => {
      const { owner, name } = request.params;
      const principal = principalOf(request);
      await requireOwnedApp(deps.reads, principal, owner, name);
      const key = request.headers['idempotency-key'];
      const cacheKey = typeof key === 'string' && key ? `${principal.keyId}\u0000${key}` : null;
      if (cacheKey === null || !(await idempotency.seen(cacheKey))) {
        const ids = await deps.dispatcher.flushQueue(owner, name);
        if (ids.length > 0) await deps.onQueueFlushed?.(owner, name, ids);
        if (cacheKey) await idempotency.record(cacheKey);
      }
      return reply.code(204).send();
    },
  );

  registerAppHistoryRoutes(app, deps.reads, clock);
}
