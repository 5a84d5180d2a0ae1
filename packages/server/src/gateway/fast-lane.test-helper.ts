import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogBus, type Stores, systemClock, uuidIds } from '@hangar/core';
import Database from 'better-sqlite3';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createAuthThrottle } from '../http/auth-throttle.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { createLogBus } from '../runners/log-bus.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';
import { InlineDispatcher, startEchoApp } from './test-kit.js';
import { createTestKey, putTestApp } from './test-server.js';

// The fast lane serves /run and /queue from node:http; `inject` always goes through the Fastify routes.
// Each case is sent both ways and must get the same answer, and the test checks which of them served it.

/** Big enough for the 5 MB input below; strings get their own, lower limit so that it can be tested too. */
export const BODY_LIMIT = 8 * 1024 * 1024;
const JSON_INPUT = { maxDepth: 64, maxItems: 100_000, maxStringBytes: 6 * 1024 * 1024 };
/** JSON nested 10,000 deep. */
export const DEEP = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
/** A JSON object with 100,001 members. */
export const MANY_KEYS = JSON.stringify(
  Object.fromEntries(Array.from({ length: 100_001 }, (_, i) => [`k${i}`, 0])),
);
/** A legal input with a 5 MB string. */
export const BIG_STRING = JSON.stringify({
  image_url: `data:image/png;base64,${'A'.repeat(5 * 1024 * 1024)}`,
});
/** An input with a string one byte over the string limit. */
export const HUGE_STRING = JSON.stringify({ prompt: 'x'.repeat(6 * 1024 * 1024 + 1) });

/** One call, sent over a socket or injected. */
export interface Call {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  key?: string;
  body?: string;
  contentType?: string;
  chunked?: boolean;
  /** The client address (a loopback address other than 127.0.0.1 is another client). */
  from?: string;
}

/** What a test compares of an answer. */
export interface Answer {
  status: number;
  type: string | undefined;
  requestId: boolean;
  appHeader: string | undefined;
  retryAfter: string | undefined;
  body: unknown;
}

/** A gateway on a real socket over SQLite and an echo app, with alice's and bob's keys already verified. */
export interface FastLane {
  app: HttpApp;
  aliceKey: string;
  bobKey: string;
  /** Over a real socket (node:http, so framing is under the test's control). */
  send(c: Call): Promise<Answer>;
  /** Through Fastify's routes, in process. */
  injected(c: Call): Promise<Answer>;
  /** Sends `c` over the socket and by inject; returns both answers and whether the socket call was routed. */
  both(c: Call): Promise<{ lane: Answer; routes: Answer; routedBySocket: boolean }>;
  /** Rows in the requests table, once the store's batched writes are flushed. */
  requestCount(): Promise<number>;
  /** The `x-fal-request-id` of the last socket answer (answers themselves carry `<id>` instead). */
  lastRequestId(): string | undefined;
  close(): Promise<void>;
}

/** The answer with ids replaced, so two calls of the same case compare equal. */
function normalize(status: number, headers: Record<string, unknown>, text: string): Answer {
  const id = headers['x-fal-request-id'] as string | undefined;
  const anonymous = id ? text.split(id).join('<id>') : text;
  let body: unknown = anonymous;
  try {
    body = JSON.parse(anonymous);
  } catch {
    // not JSON: compared as text
  }
  return {
    status,
    type: headers['content-type'] as string | undefined,
    requestId: id !== undefined,
    appHeader: headers['x-app-header'] as string | undefined,
    retryAfter: headers['retry-after'] as string | undefined,
    body,
  };
}

function headersOf(c: Call): Record<string, string> {
  const h: Record<string, string> = {};
  if (c.key) h['authorization'] = `Key ${c.key}`;
  if (c.body !== undefined) h['content-type'] = c.contentType ?? 'application/json';
  return h;
}

/** Sends `c` to `url` with node:http (so framing is under the test's control); `onId` gets its request id. */
function sendOverSocket(url: string, c: Call, onId: (id: string | undefined) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = headersOf(c);
    if (c.body !== undefined && !c.chunked) headers['content-length'] = String(Buffer.byteLength(c.body));
    const options = { method: c.method, headers, localAddress: c.from ?? '127.0.0.1' };
    const req = httpRequest(`${url}${c.path}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        onId(res.headers['x-fal-request-id'] as string | undefined);
        resolve(normalize(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    if (c.chunked && c.body !== undefined) req.write(c.body);
    req.end(c.chunked ? undefined : c.body);
  });
}

async function injectIntoRoutes(app: HttpApp, c: Call): Promise<Answer> {
  const res = await app.inject({
    method: c.method,
    url: c.path,
    headers: headersOf(c),
    remoteAddress: c.from ?? '127.0.0.1',
    ...(c.body !== undefined ? { payload: c.body } : {}),
  });
  return normalize(res.statusCode, res.headers, res.body);
}

/** The HTTP app, counting every answer Fastify sends (the lane's never go through it) in `onRouted`. */
function createLaneApp(stores: Stores, onRouted: () => void): HttpApp {
  const app = createHttpApp({
    logger: false,
    authenticator: createAuthenticator(stores.keys),
    // A clock that stands still: `Retry-After` is the same for the socket call and the injected one.
    authThrottle: createAuthThrottle({
      perAddress: 3,
      perKey: 100,
      windowMs: 60_000,
      maxTracked: 100,
      clock: () => 1,
    }),
    bodyLimit: BODY_LIMIT,
  });
  // onSend runs for every routed answer, errors included, before it is written.
  app.addHook('onSend', (_req, _reply, payload, done) => {
    onRouted();
    done(null, payload);
  });
  return app;
}

function createLaneGateway(
  stores: Stores,
  dispatcher: InlineDispatcher,
  logBus: LogBus,
  publicUrl: () => string,
): Gateway {
  return createGateway({
    dispatcher,
    requests: stores.requests,
    logs: stores.logs,
    logBus,
    apps: stores.apps,
    clock: systemClock,
    ids: uuidIds,
    publicUrl,
    resultTtlMs: 3_600_000,
    jsonCap: 64 * 1024,
    jsonInput: JSON_INPUT,
    webhook: {
      outbox: new MemoryWebhookOutbox(),
      allowPrivate: false,
      allowlist: [],
      maxAttempts: 1,
      retryBaseMs: 20,
    },
    logger: { warn: () => undefined, error: () => undefined },
    streams: createStreamSlots(10),
  });
}

/** Starts the gateway on 127.0.0.1 with apps `alice/echo` (private) and `alice/open` (public). */
export async function startFastLane(): Promise<FastLane> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-lane-'));
  const stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  const echo = await startEchoApp();
  const logBus = createLogBus();
  const dispatcher = new InlineDispatcher(echo.url, { concurrency: 4, logBus, logs: stores.logs });
  let routed = 0;
  let lastRequestId: string | undefined;
  const app = createLaneApp(stores, () => routed++);
  const gateway = createLaneGateway(stores, dispatcher, logBus, () => url);
  registerGatewayRoutes(app, gateway);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  const send = (c: Call) =>
    sendOverSocket(url, c, (id) => {
      lastRequestId = id;
    });
  const injected = (c: Call) => injectIntoRoutes(app, c);

  const aliceKey = await createTestKey(stores.keys, 'alice');
  const bobKey = await createTestKey(stores.keys, 'bob');
  await putTestApp(stores.apps, 'alice', 'echo');
  await putTestApp(stores.apps, 'alice', 'open', { auth_mode: 'public' });
  // A key's first use is verified by the routes; afterwards the lane may take its requests.
  for (const key of [aliceKey, bobKey])
    await send({ method: 'POST', path: '/run/alice/open', key, body: '{}' });

  return {
    app,
    aliceKey,
    bobKey,
    send,
    injected,
    async both(c) {
      const before = routed;
      const lane = await send(c);
      const routedBySocket = routed !== before;
      const routes = await injected(c);
      return { lane, routes, routedBySocket };
    },
    async requestCount() {
      await stores.flush();
      const db = new Database(join(dir, 'hangar.db'), { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    lastRequestId: () => lastRequestId,
    async close() {
      await gateway.close();
      await app.close();
      await dispatcher.close();
      await echo.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
