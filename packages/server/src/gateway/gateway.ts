import type { RequestRecord, StoredResult, UnfinishedFilter } from '@hangar/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { addFastLane, type HttpApp } from '../http/app.js';
import type { FastLane } from '../http/fast-lane.js';
import { cachedAppLookup } from './app-cache.js';
import type { GatewayContext, GatewayTarget } from './context.js';
import type { GatewayDeps } from './deps.js';
import { Execution } from './execution.js';
import { sendGatewayError } from './gateway-errors.js';
import { LiveRequests } from './live.js';
import { createNetGuard } from './net-guard.js';
import { handleProxy } from './proxy.js';
import { currentStatus } from './queue-ops.js';
import { recoverRequests } from './recovery.js';
import { handleGateway } from './router.js';
import { WebhookSender } from './webhook-sender.js';
import { createWebhookSigner } from './webhook-signer.js';

const DEFAULT_PURGE_MS = 60_000;
const DEFAULT_GRACE_MS = 10_000;
const DEFAULT_APP_CACHE_MS = 1_000;
const SWEEP_MS = 1_000;

/** The fal-compatible gateway: `/run`, `/queue`, `/fal/proxy` and the webhook key set. */
export interface Gateway {
  readonly context: GatewayContext;
  /**
   * Resumes requests accepted before a restart (call once, before serving); in a cluster only those this
   * node accepted (`{ acceptedBy }`): the others belong to live nodes or to the leader's dead-node duty.
   */
  recover(filter?: UnfinishedFilter): Promise<void>;
  /** Arms the webhook of a request this node ran for another (cluster queue) and recorded. */
  webhookRecorded(rec: RequestRecord, response: StoredResult): void;
  /** Stops timers, waits for requests already running on a runner, then stops sending webhooks. */
  close(): Promise<void>;
}

/** Creates the gateway and starts its purge and sweep timers. */
export function createGateway(deps: GatewayDeps): Gateway {
  const live = new LiveRequests(deps.completedGraceMs ?? DEFAULT_GRACE_MS);
  const guard = createNetGuard(deps.webhook);
  const signer = createWebhookSigner(deps.webhook.privateKeyPem);
  const webhooks = new WebhookSender({
    ...deps,
    outbox: deps.webhook.outbox,
    signer,
    guard,
    options: deps.webhook,
  });
  const apps = cachedAppLookup(deps.apps, deps.clock, deps.appCacheMs ?? DEFAULT_APP_CACHE_MS);
  const exec = new Execution(deps, live, webhooks);
  const context: GatewayContext = { deps: { ...deps, apps }, exec, live, guard, signer, streams: new Set() };

  const feed = deps.statusFeed;
  if (feed)
    live.onNotify = (e) =>
      feed.changed(e.rec.requestId, e.rec.status, () => currentStatus(context, e.rec, null));
  const unsubscribe = deps.logBus.subscribe((lines) => live.attachLogs(lines));
  const sweep = setInterval(() => live.sweep(deps.clock()), SWEEP_MS);
  const purge = setInterval(() => {
    deps.requests.purgeResults(deps.clock()).catch((err: unknown) => {
      deps.logger.warn({ err }, 'purging expired results failed');
    });
  }, deps.purgeIntervalMs ?? DEFAULT_PURGE_MS);
  sweep.unref();
  purge.unref();
  webhooks.start();

  return {
    context,
    webhookRecorded: (rec, response) => webhooks.recorded(rec, response),
    async recover(filter) {
      await recoverRequests(context, filter);
    },
    async close() {
      clearInterval(sweep);
      clearInterval(purge);
      await exec.close();
      await webhooks.close();
      unsubscribe();
      for (const end of [...context.streams]) end();
    },
  };
}

/**
 * Registers the gateway's routes on `app` and returns the gateway. Pass a gateway from `createGateway`
 * to share it with the composition root (for `recover`/`close`), or deps to create one here.
 */
export function registerGatewayRoutes(app: HttpApp, deps: GatewayDeps | Gateway): Gateway {
  const gateway = 'context' in deps ? deps : createGateway(deps);
  const ctx = gateway.context;
  app.register(async (scope) => {
    // Bodies are forwarded untouched: parse nothing here, JSON is checked only where it is recorded.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    // Errors on these routes — the key check and shutdown included — answer in fal's gateway shape.
    scope.setErrorHandler((err, request, reply) => {
      sendGatewayError(err, reply, (e) =>
        request.log.error({ err: e, reqId: request.id }, 'unhandled error'),
      );
    });
    const methods = ['GET', 'POST', 'PUT'];
    const config = { auth: 'optional' as const };
    const target = (kind: 'run' | 'queue') => (request: FastifyRequest, reply: FastifyReply) => {
      const url = request.url;
      const q = url.indexOf('?');
      const path = (request.params as { '*': string })['*'];
      const search = q === -1 ? '' : url.slice(q + 1);
      return handleGateway(ctx, { kind, method: request.method, path, search }, request, reply);
    };
    scope.route({ method: methods, url: '/run/*', config, handler: target('run') });
    scope.route({ method: methods, url: '/queue/*', config, handler: target('queue') });
    scope.route({
      method: methods,
      url: '/fal/proxy',
      config,
      handler: (request, reply) => handleProxy(ctx, app, request, reply),
    });
  });
  app.get('/.well-known/jwks.json', { config: { auth: 'none' } }, async () => ctx.signer.jwks());
  addFastLane(app, gatewayLane(ctx));
  return gateway;
}

const LANE_METHODS = new Set(['GET', 'POST', 'PUT']);

/**
 * `/run/*` and `/queue/*` over the fast lane: the same handlers as the routes above, minus Fastify's
 * per-request work. URLs the router would read differently (`;` and `#` end its path) stay with it.
 */
function gatewayLane(ctx: GatewayContext): FastLane {
  const prefixOf = (url: string) => (url.startsWith('/run/') ? 5 : url.startsWith('/queue/') ? 7 : 0);
  return {
    accepts: (method, url) =>
      LANE_METHODS.has(method) && prefixOf(url) > 0 && !url.includes(';') && !url.includes('#'),
    handle: (request, reply) => {
      const url = request.url;
      const prefix = prefixOf(url);
      const q = url.indexOf('?');
      const target: GatewayTarget = {
        kind: prefix === 5 ? 'run' : 'queue',
        method: request.method,
        path: q === -1 ? url.slice(prefix) : url.slice(prefix, q),
        search: q === -1 ? '' : url.slice(q + 1),
      };
      return handleGateway(ctx, target, request, reply);
    },
    errorReply: (err, reply) =>
      sendGatewayError(err, reply, (e) => ctx.deps.logger.error({ err: e }, 'unhandled error')),
  };
}
