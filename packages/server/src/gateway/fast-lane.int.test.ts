import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stores, systemClock, uuidIds } from '@hangar/core';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createAuthThrottle } from '../http/auth-throttle.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { createLogBus } from '../runners/log-bus.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';
import { expectedGatewayError as fal, gatewayError } from './gateway-errors.test-helper.js';
import { type EchoApp, InlineDispatcher, startEchoApp } from './test-kit.js';
import { createTestKey, putTestApp } from './test-server.js';

// The fast lane serves /run and /queue from node:http; `inject` always goes through the Fastify routes.
// Each case is sent both ways and must get the same answer, and the lane must really have served it.

/** Big enough for the 5 MB input below; strings get their own, lower limit so that it can be tested too. */
const BODY_LIMIT = 8 * 1024 * 1024;
const JSON_INPUT = { maxDepth: 64, maxItems: 100_000, maxStringBytes: 6 * 1024 * 1024 };
const DEEP = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
const MANY_KEYS = JSON.stringify(Object.fromEntries(Array.from({ length: 100_001 }, (_, i) => [`k${i}`, 0])));
const BIG_STRING = JSON.stringify({ image_url: `data:image/png;base64,${'A'.repeat(5 * 1024 * 1024)}` });
const HUGE_STRING = JSON.stringify({ prompt: 'x'.repeat(6 * 1024 * 1024 + 1) });

let dir: string;
let stores: Stores;
let echo: EchoApp;
let dispatcher: InlineDispatcher;
let app: HttpApp;
let gateway: Gateway;
let url: string;
let aliceKey: string;
let bobKey: string;
/** The `x-fal-request-id` of the last socket answer (answers themselves carry `<id>` instead). */
let lastRequestId: string | undefined;
/** Answers sent by Fastify (the lane's never go through it). */
let routed = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-lane-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 4, logBus, logs: stores.logs });
  app = createHttpApp({
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
    routed++;
    done(null, payload);
  });
  gateway = createGateway({
    dispatcher,
    requests: stores.requests,
    logs: stores.logs,
    logBus,
    apps: stores.apps,
    clock: systemClock,
    ids: uuidIds,
    publicUrl: () => url,
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
  registerGatewayRoutes(app, gateway);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  aliceKey = await createTestKey(stores.keys, 'alice');
  bobKey = await createTestKey(stores.keys, 'bob');
  await putTestApp(stores.apps, 'alice', 'echo');
  await putTestApp(stores.apps, 'alice', 'open', { auth_mode: 'public' });
  // A key's first use is verified by the routes; afterwards the lane may take its requests.
  for (const key of [aliceKey, bobKey])
    await send({ method: 'POST', path: '/run/alice/open', key, body: '{}' });
});

afterAll(async () => {
  await gateway.close();
  await app.close();
  await dispatcher.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Call {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  key?: string;
  body?: string;
  contentType?: string;
  chunked?: boolean;
  /** The client address (a loopback address other than 127.0.0.1 is another client). */
  from?: string;
}

interface Answer {
  status: number;
  type: string | undefined;
  requestId: boolean;
  appHeader: string | undefined;
  retryAfter: string | undefined;
  body: unknown;
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

/** Over a real socket (node:http, so framing is under the test's control). */
function send(c: Call): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = headersOf(c);
    if (c.body !== undefined && !c.chunked) headers['content-length'] = String(Buffer.byteLength(c.body));
    const options = { method: c.method, headers, localAddress: c.from ?? '127.0.0.1' };
    const req = httpRequest(`${url}${c.path}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        lastRequestId = res.headers['x-fal-request-id'] as string | undefined;
        resolve(normalize(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    if (c.chunked && c.body !== undefined) req.write(c.body);
    req.end(c.chunked ? undefined : c.body);
  });
}

/** Rows in the requests table, once the store's batched writes are flushed. */
async function requestCount(): Promise<number> {
  await stores.flush();
  const db = new Database(join(dir, 'hangar.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Through Fastify's routes, in process. */
async function injected(c: Call): Promise<Answer> {
  const res = await app.inject({
    method: c.method,
    url: c.path,
    headers: headersOf(c),
    remoteAddress: c.from ?? '127.0.0.1',
    ...(c.body !== undefined ? { payload: c.body } : {}),
  });
  return normalize(res.statusCode, res.headers, res.body);
}

/** Sends `c` over the socket and by inject; returns both answers and whether the socket call was routed. */
async function both(c: Call): Promise<{ lane: Answer; routes: Answer; routedBySocket: boolean }> {
  const before = routed;
  const lane = await send(c);
  const routedBySocket = routed !== before;
  const routes = await injected(c);
  return { lane, routes, routedBySocket };
}

describe('fast lane', () => {
  const laneCases: [string, () => Call][] = [
    [
      'a sync call',
      () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: '{"prompt":"hi"}' }),
    ],
    [
      'a route with a query string',
      () => ({ method: 'POST', path: '/run/alice/echo/turbo?steps=2&x=y', key: aliceKey, body: '{"a":1}' }),
    ],
    ['a public app without a key', () => ({ method: 'POST', path: '/run/alice/open', body: '{}' })],
    ['a GET call', () => ({ method: 'GET', path: '/run/alice/echo?q=1', key: aliceKey })],
    ['an unknown app', () => ({ method: 'POST', path: '/run/alice/nope', key: aliceKey, body: '{}' })],
    ['an unknown route', () => ({ method: 'POST', path: '/run/alice/echo/zzz', key: aliceKey, body: '{}' })],
    ['a path without an app', () => ({ method: 'POST', path: '/run/alice', key: aliceKey, body: '{}' })],
    ['malformed JSON', () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: '{"a":' })],
    [
      'another owner on a private app',
      () => ({ method: 'POST', path: '/run/alice/echo', key: bobKey, body: '{}' }),
    ],
    ['no key on a private app', () => ({ method: 'POST', path: '/run/alice/echo', body: '{}' })],
    [
      'a non-JSON body',
      () => ({
        method: 'POST',
        path: '/run/alice/echo',
        key: aliceKey,
        body: 'plain',
        contentType: 'text/plain',
      }),
    ],
    [
      'an unknown queued request',
      () => ({ method: 'GET', path: '/queue/alice/echo/requests/0000/status', key: aliceKey }),
    ],
    [
      'an unknown queue operation',
      () => ({ method: 'GET', path: '/queue/alice/echo/requests/1/x', key: aliceKey }),
    ],
    [
      'JSON nested 10,000 deep',
      () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: DEEP }),
    ],
    [
      'a queue submit nested 10,000 deep',
      () => ({ method: 'POST', path: '/queue/alice/echo', key: aliceKey, body: DEEP }),
    ],
    [
      'JSON with 100,001 keys',
      () => ({ method: 'POST', path: '/queue/alice/echo', key: aliceKey, body: MANY_KEYS }),
    ],
    [
      'a string over the string limit',
      () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: HUGE_STRING }),
    ],
    ['a 5 MB data URI', () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: BIG_STRING })],
    [
      // Not parsed as JSON (by the echo app either): it reaches the app unchanged.
      'deep brackets sent as another media type',
      () => ({
        method: 'POST',
        path: '/run/alice/echo',
        key: aliceKey,
        body: '['.repeat(10_000),
        contentType: 'application/octet-stream',
      }),
    ],
  ];

  it.each(laneCases)('serves %s exactly as the routes do', async (_name, call) => {
    const { lane, routes, routedBySocket } = await both(call());
    expect(routedBySocket).toBe(false);
    expect(lane).toEqual(routes);
  });

  it('passes a body of another media type through unchanged, however deep', async () => {
    const body = '['.repeat(10_000);
    const answer = await send({
      method: 'POST',
      path: '/run/alice/echo',
      key: aliceKey,
      body,
      contentType: 'application/octet-stream',
    });
    expect(answer).toMatchObject({ status: 200, body: { echo: { raw: body } } });
  });

  it('refuses over-complex JSON with a 400 naming the limit, and stores none of it', async () => {
    const before = await requestCount();
    const cases: [string, string][] = [
      [DEEP, 'Request input is nested deeper than 64 levels'],
      [MANY_KEYS, 'Request input has more than 100000 object members and array elements'],
      [HUGE_STRING, `Request input has a string longer than ${6 * 1024 * 1024} bytes`],
    ];
    for (const [body, message] of cases) {
      for (const kind of ['run', 'queue']) {
        const answer = await send({ method: 'POST', path: `/${kind}/alice/echo`, key: aliceKey, body });
        expect(answer).toMatchObject({
          status: 400,
          requestId: false,
          body: { detail: message, error_type: 'bad_request' },
        });
      }
    }
    // The proxy serves the same calls (through the routes only).
    const proxied = await app.inject({
      method: 'POST',
      url: '/fal/proxy',
      headers: {
        authorization: `Key ${aliceKey}`,
        'content-type': 'application/json',
        'x-fal-target-url': 'https://queue.fal.run/alice/echo',
      },
      payload: DEEP,
    });
    expect(await gatewayError(proxied)).toEqual(
      fal(400, 'bad_request', 'REQUEST_INPUT_TOO_COMPLEX', 'Request input is nested deeper than 64 levels'),
    );
    expect(await requestCount()).toBe(before);
    // Legal inputs still are: the 5 MB one reached the app and came back whole.
    const big = await send({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: BIG_STRING });
    expect(big.status).toBe(200);
    expect((big.body as { echo: unknown }).echo).toEqual(JSON.parse(BIG_STRING));
    expect(await requestCount()).toBe(before + 1);
  });

  it('serves queue submit, status and result as the routes do', async () => {
    const submit = await send({ method: 'POST', path: '/queue/alice/echo', key: aliceKey, body: '{"n":1}' });
    expect(submit.status).toBe(200);
    expect(submit.body).toMatchObject({ request_id: '<id>', status: 'IN_QUEUE' });
    const id = lastRequestId;
    const statusPath = `/queue/alice/echo/requests/${id}/status`;
    await expect
      .poll(async () => {
        const st = await send({ method: 'GET', path: statusPath, key: aliceKey });
        return `${st.status} ${JSON.stringify(st.body)}`;
      })
      .toMatch(/^200 /);
    for (const path of [statusPath, `${statusPath}?logs=1`, `/queue/alice/echo/requests/${id}`]) {
      const { lane, routes, routedBySocket } = await both({ method: 'GET', path, key: aliceKey });
      expect(routedBySocket).toBe(false);
      expect(lane.status).toBe(200);
      expect(lane).toEqual(routes);
    }
    const cancel = await both({
      method: 'PUT',
      path: `/queue/alice/echo/requests/${id}/cancel`,
      key: aliceKey,
      body: '',
    });
    expect(cancel.lane).toMatchObject({ status: 400, body: { status: 'ALREADY_COMPLETED' } });
    expect(cancel.lane).toEqual(cancel.routes);
  });

  const routedCases: [string, () => Call, number][] = [
    [
      'a key seen for the first time',
      () => ({ method: 'POST', path: '/run/alice/open', key: 'k:s', body: '{}', from: '127.0.0.3' }),
      401,
    ],
    [
      'a body over the limit',
      () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: `"${'x'.repeat(BODY_LIMIT)}"` }),
      413,
    ],
    [
      'a chunked body',
      () => ({ method: 'POST', path: '/run/alice/echo', key: aliceKey, body: '{}', chunked: true }),
      200,
    ],
    [
      'a percent-encoded path',
      () => ({ method: 'POST', path: '/run/alice/ec%68o', key: aliceKey, body: '{}' }),
      200,
    ],
    [
      'a matrix parameter',
      () => ({ method: 'POST', path: '/run/alice/echo;v=1', key: aliceKey, body: '{}' }),
      404,
    ],
  ];

  it.each(routedCases)('leaves %s to the routes', async (_name, call, status) => {
    const { lane, routes, routedBySocket } = await both(call());
    expect(routedBySocket).toBe(true);
    expect(lane.status).toBe(status);
    expect(lane).toEqual(routes);
  });

  it('leaves a verified key from an address that failed lately to the routes, throttled or not', async () => {
    const from = '127.0.0.2';
    const wrongKey = `${aliceKey.split(':')[0]}:wrong`;
    const call: Call = { method: 'POST', path: '/run/alice/echo', key: aliceKey, body: '{}', from };
    await send({ method: 'POST', path: '/run/alice/open', key: wrongKey, body: '{}', from });
    const once = await both(call);
    expect(once.routedBySocket).toBe(true);
    expect(once.lane.status).toBe(200);
    expect(once.lane).toEqual(once.routes);

    await send({ method: 'POST', path: '/run/alice/open', key: wrongKey, body: '{}', from });
    await send({ method: 'POST', path: '/run/alice/open', key: wrongKey, body: '{}', from });
    const streamPath = '/queue/alice/echo/requests/00000000-0000-0000-0000-000000000000/status/stream';
    for (const c of [call, { method: 'GET', path: streamPath, key: aliceKey, from } as Call]) {
      const throttled = await both(c);
      expect(throttled.routedBySocket).toBe(true);
      expect(throttled.lane).toMatchObject({
        status: 429,
        retryAfter: '20',
        body: { detail: expect.any(String), error_type: 'rate_limited' },
      });
      expect(throttled.lane).toEqual(throttled.routes);
    }
    // Other addresses keep the lane.
    const elsewhere = await both({ ...call, from: '127.0.0.1' });
    expect(elsewhere.routedBySocket).toBe(false);
    expect(elsewhere.lane).toEqual(elsewhere.routes);
  });
});
