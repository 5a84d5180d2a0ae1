import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type KeyScope, PlatformError, type Principal, StoreUnavailable, toEnvelope } from '@hangar/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Authenticator } from './auth.js';
import { type AuthThrottle, authenticateThrottled } from './auth-throttle.js';
import { type FastLane, type LaneEnv, type LaneReply, serveFastLane } from './fast-lane.js';
import { answerClientError, lacksHost } from './framework-errors.js';

/** Who may call a route: nobody needs a key, any valid key, or an ADMIN key. */
export type RouteAuth = 'none' | 'optional' | 'api' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The Fastify instance type every route module registers on. */
export type HttpApp = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpAppOptions {
  logger: FastifyBaseLogger | false;
  authenticator: Authenticator;
  /** Throttles failed authentication per client address and key id; none when absent. */
  authThrottle?: AuthThrottle;
  bodyLimit: number;
  /** When true, every request is answered 503 (set during shutdown). */
  isDraining?: () => boolean;
}

/** The principal of an authenticated request (routes with auth 'api' or 'admin' always have one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new PlatformError('AUTH_MISSING');
  return request.principal;
}

/** Throws unless the principal's scope is at least `scope`. */
export function requireScope(p: Principal, scope: KeyScope): void {
  if (scope === 'ADMIN' && p.scope !== 'ADMIN') throw new PlatformError('AUTH_ADMIN_REQUIRED');
}

/** Sets the request's principal; returns the error when the route needs a scope the key lacks. */
function admitted(request: FastifyRequest, principal: Principal, auth: RouteAuth): Error | undefined {
  request.principal = principal;
  if (auth === 'admin' && principal.scope !== 'ADMIN') return new PlatformError('AUTH_ADMIN_REQUIRED');
  return undefined;
}

/** Fastify's own defaults for a server it creates, applied to the one the fast lane wraps. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** The fast lanes of each app (see fast-lane.ts), filled by `addFastLane`. */
const appLanes = new WeakMap<HttpApp, FastLane[]>();

/** Serves requests `lane` accepts straight from node:http, ahead of Fastify's routing (real sockets only; `inject` always takes the routes). */
export function addFastLane(app: HttpApp, lane: FastLane): void {
  appLanes.get(app)?.push(lane);
}

/** Creates the Fastify app with fal's error envelope, key authentication and body limits. */
export function createHttpApp(opts: HttpAppOptions): HttpApp {
  const lanes: FastLane[] = [];
  let open = true;
  const throttle = opts.authThrottle;
  // A key already verified skips the secret check, except from an address that failed lately: whether
  // that one is throttled is decided by `authenticateThrottled` alone, for the lane and the routes alike.
  const cached = (header: string, address: string): Principal | null =>
    throttle?.suspect(address) ? null : opts.authenticator.cached(header);
  const authenticate = (header: string | undefined, address: string): Promise<Principal> =>
    throttle
      ? authenticateThrottled(opts.authenticator, throttle, header, address)
      : opts.authenticator.authenticate(header);
  const env: LaneEnv = {
    cachedPrincipal: cached,
    bodyLimit: opts.bodyLimit,
    isOpen: () => open && !opts.isDraining?.(),
    errorReply: (err, reply) => sendError(err, reply, (e) => app.log.error({ err: e }, 'unhandled error')),
  };
  const app = Fastify({
    serverFactory: (handler) => {
      // Host is checked below, so a request without it is answered in the envelope like any other.
      const server = createServer(
        { requireHostHeader: false },
        (req: IncomingMessage, res: ServerResponse) => {
          if (lacksHost(req)) return void sendMissingHost(res);
          if (!serveFastLane(lanes, env, req, res)) handler(req, res);
        },
      );
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    loggerInstance: opts.logger || undefined,
    logger: opts.logger ? undefined : false,
    bodyLimit: opts.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    // Closing is answered by the onRequest hook below (SERVER_SHUTTING_DOWN), in fal's envelope.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    // Malformed URLs (e.g. bad percent-encoding) are rejected before routing; keep fal's envelope.
    // A path segment longer than the router accepts names nothing that exists: 404, not 414.
    frameworkErrors: (err, _request, reply) => {
      const platform =
        err.code === 'FST_ERR_BAD_URL'
          ? new PlatformError('REQUEST_INVALID', err.message)
          : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? new PlatformError('ROUTE_NOT_FOUND', 'No resource has a path segment this long')
            : toPlatformError(err);
      (reply as unknown as FastifyReply).status(platform.status).send(toEnvelope(platform));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;

  app.decorateRequest('principal', null);
  appLanes.set(app, lanes);
  app.addHook('preClose', (done) => {
    open = false;
    done();
  });

  // A callback hook, not an async one: a key already verified is checked without a promise per request.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!open || opts.isDraining?.()) return done(new PlatformError('SERVER_SHUTTING_DOWN'));
    const auth = request.routeOptions.config.auth ?? 'api';
    if (auth === 'none') return done();
    const header = request.headers.authorization;
    if (auth === 'optional' && !header) return done();
    const principal = header ? cached(header, request.ip) : null;
    if (principal) return done(admitted(request, principal, auth));
    authenticate(header, request.ip).then(
      (p) => done(admitted(request, p, auth)),
      (err: Error) => done(err),
    );
  });

  // Ajv coerces "1e309" to Infinity and then skips every numeric bound of the parameter.
  app.addHook('preHandler', async (request) => {
    if (!request.routeOptions.schema?.querystring) return;
    const query = request.query as Record<string, unknown> | null | undefined;
    if (!query || typeof query !== 'object') return;
    for (const [name, value] of Object.entries(query)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new PlatformError('REQUEST_INVALID', `querystring/${name} must be a finite number`);
      }
    }
  });

  app.setErrorHandler((err, request, reply) => {
    sendError(err, reply, (e) => request.log.error({ err: e, reqId: request.id }, 'unhandled error'));
  });

  app.setNotFoundHandler((request, reply) => {
    const err = new PlatformError(
      'ROUTE_NOT_FOUND',
      `No route for ${request.method} ${request.url.split('?')[0]}`,
    );
    reply.status(404).send(toEnvelope(err));
  });

  return app;
}

/** 400 in fal's envelope for an HTTP/1.1 request without `Host`, closing the connection. */
function sendMissingHost(res: ServerResponse): void {
  const err = new PlatformError('REQUEST_MALFORMED', 'The Host header is required');
  const body = JSON.stringify(toEnvelope(err));
  res.writeHead(err.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/** fal's envelope for anything thrown, with the error's headers (e.g. `Retry-After`); internals are logged, never sent. */
function sendError(err: unknown, reply: FastifyReply | LaneReply, logInternal: (err: unknown) => void): void {
  const platform = toPlatformError(err);
  if (platform.code === 'SERVER_INTERNAL' || platform.code === 'STORAGE_UNAVAILABLE') logInternal(err);
  for (const [name, value] of Object.entries(platform.headers)) reply.header(name, value);
  reply.code(platform.status).send(toEnvelope(platform));
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  validation?: unknown;
  message?: string;
}

/** Maps anything thrown to a PlatformError without leaking internals. */
export function toPlatformError(err: unknown): PlatformError {
  if (err instanceof PlatformError) return err;
  if (err instanceof StoreUnavailable) {
    return new PlatformError('STORAGE_UNAVAILABLE', undefined, { 'retry-after': String(err.retryAfterS) });
  }
  const e = (err ?? {}) as FastifyLikeError;
  if (e.validation) return new PlatformError('REQUEST_INVALID', e.message);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PlatformError('REQUEST_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PlatformError('REQUEST_BAD_JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new PlatformError('REQUEST_INVALID', e.message);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new PlatformError('REQUEST_TOO_LARGE');
    return new PlatformError('REQUEST_INVALID', e.message);
  }
  return new PlatformError('SERVER_INTERNAL');
}
