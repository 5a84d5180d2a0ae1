import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIG_STRING,
  type Call,
  DEEP,
  type FastLane,
  HUGE_STRING,
  MANY_KEYS,
  startFastLane,
} from './fast-lane.test-helper.js';
import { expectedGatewayError as fal, gatewayError } from './gateway-errors.test-helper.js';

// What the fast lane serves itself: each case, sent over the socket and by inject, gets the same answer,
// and the lane (not Fastify) served the socket call. What it leaves to the routes: fast-lane-routed.

let server: FastLane;

beforeAll(async () => {
  server = await startFastLane();
});

afterAll(async () => {
  await server?.close();
});

describe('fast lane', () => {
  const laneCases: [string, () => Call][] = [
    [
      'a sync call',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: '{"prompt":"hi"}' }),
    ],
    [
      'a route with a query string',
      () => ({
        method: 'POST',
        path: '/run/alice/echo/turbo?steps=2&x=y',
        key: server.aliceKey,
        body: '{"a":1}',
      }),
    ],
    ['a public app without a key', () => ({ method: 'POST', path: '/run/alice/open', body: '{}' })],
    ['a GET call', () => ({ method: 'GET', path: '/run/alice/echo?q=1', key: server.aliceKey })],
    ['an unknown app', () => ({ method: 'POST', path: '/run/alice/nope', key: server.aliceKey, body: '{}' })],
    [
      'an unknown route',
      () => ({ method: 'POST', path: '/run/alice/echo/zzz', key: server.aliceKey, body: '{}' }),
    ],
    [
      'a path without an app',
      () => ({ method: 'POST', path: '/run/alice', key: server.aliceKey, body: '{}' }),
    ],
    [
      'malformed JSON',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: '{"a":' }),
    ],
    [
      'another owner on a private app',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.bobKey, body: '{}' }),
    ],
    ['no key on a private app', () => ({ method: 'POST', path: '/run/alice/echo', body: '{}' })],
    [
      'a non-JSON body',
      () => ({
        method: 'POST',
        path: '/run/alice/echo',
        key: server.aliceKey,
        body: 'plain',
        contentType: 'text/plain',
      }),
    ],
    [
      'an unknown queued request',
      () => ({ method: 'GET', path: '/queue/alice/echo/requests/0000/status', key: server.aliceKey }),
    ],
    [
      'an unknown queue operation',
      () => ({ method: 'GET', path: '/queue/alice/echo/requests/1/x', key: server.aliceKey }),
    ],
    [
      'JSON nested 10,000 deep',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: DEEP }),
    ],
    [
      'a queue submit nested 10,000 deep',
      () => ({ method: 'POST', path: '/queue/alice/echo', key: server.aliceKey, body: DEEP }),
    ],
    [
      'JSON with 100,001 keys',
      () => ({ method: 'POST', path: '/queue/alice/echo', key: server.aliceKey, body: MANY_KEYS }),
    ],
    [
      'a string over the string limit',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: HUGE_STRING }),
    ],
    [
      'a 5 MB data URI',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: BIG_STRING }),
    ],
    [
      // Not parsed as JSON (by the echo app either): it reaches the app unchanged.
      'deep brackets sent as another media type',
      () => ({
        method: 'POST',
        path: '/run/alice/echo',
        key: server.aliceKey,
        body: '['.repeat(10_000),
        contentType: 'application/octet-stream',
      }),
    ],
  ];

  it.each(laneCases)('serves %s exactly as the routes do', async (_name, call) => {
    const { lane, routes, routedBySocket } = await server.both(call());
    expect(routedBySocket).toBe(false);
    expect(lane).toEqual(routes);
  });

  it('passes a body of another media type through unchanged, however deep', async () => {
    const body = '['.repeat(10_000);
    const answer = await server.send({
      method: 'POST',
      path: '/run/alice/echo',
      key: server.aliceKey,
      body,
      contentType: 'application/octet-stream',
    });
    expect(answer).toMatchObject({ status: 200, body: { echo: { raw: body } } });
  });

  it('refuses over-complex JSON with a 400 naming the limit, and stores none of it', async () => {
    const before = await server.requestCount();
    const cases: [string, string][] = [
      [DEEP, 'Request input is nested deeper than 64 levels'],
      [MANY_KEYS, 'Request input has more than 100000 object members and array elements'],
      [HUGE_STRING, `Request input has a string longer than ${6 * 1024 * 1024} bytes`],
    ];
    for (const [body, message] of cases) {
      for (const kind of ['run', 'queue']) {
        const answer = await server.send({
          method: 'POST',
          path: `/${kind}/alice/echo`,
          key: server.aliceKey,
          body,
        });
        expect(answer).toMatchObject({
          status: 400,
          requestId: false,
          body: { detail: message, error_type: 'bad_request' },
        });
      }
    }
    // The proxy serves the same calls (through the routes only).
    const proxied = await server.app.inject({
      method: 'POST',
      url: '/fal/proxy',
      headers: {
        authorization: `Key ${server.aliceKey}`,
        'content-type': 'application/json',
        'x-fal-target-url': 'https://queue.fal.run/alice/echo',
      },
      payload: DEEP,
    });
    expect(await gatewayError(proxied)).toEqual(
      fal(400, 'bad_request', 'REQUEST_INPUT_TOO_COMPLEX', 'Request input is nested deeper than 64 levels'),
    );
    expect(await server.requestCount()).toBe(before);
    // Legal inputs still are: the 5 MB one reached the app and came back whole.
    const big = await server.send({
      method: 'POST',
      path: '/run/alice/echo',
      key: server.aliceKey,
      body: BIG_STRING,
    });
    expect(big.status).toBe(200);
    expect((big.body as { echo: unknown }).echo).toEqual(JSON.parse(BIG_STRING));
    expect(await server.requestCount()).toBe(before + 1);
  });

  it('serves queue submit, status and result as the routes do', async () => {
    const submit = await server.send({
      method: 'POST',
      path: '/queue/alice/echo',
      key: server.aliceKey,
      body: '{"n":1}',
    });
    expect(submit.status).toBe(200);
    expect(submit.body).toMatchObject({ request_id: '<id>', status: 'IN_QUEUE' });
    const id = server.lastRequestId();
    const statusPath = `/queue/alice/echo/requests/${id}/status`;
    await expect
      .poll(async () => {
        const st = await server.send({ method: 'GET', path: statusPath, key: server.aliceKey });
        return `${st.status} ${JSON.stringify(st.body)}`;
      })
      .toMatch(/^200 /);
    for (const path of [statusPath, `${statusPath}?logs=1`, `/queue/alice/echo/requests/${id}`]) {
      const { lane, routes, routedBySocket } = await server.both({
        method: 'GET',
        path,
        key: server.aliceKey,
      });
      expect(routedBySocket).toBe(false);
      expect(lane.status).toBe(200);
      expect(lane).toEqual(routes);
    }
    const cancel = await server.both({
      method: 'PUT',
      path: `/queue/alice/echo/requests/${id}/cancel`,
      key: server.aliceKey,
      body: '',
    });
    expect(cancel.lane).toMatchObject({ status: 400, body: { status: 'ALREADY_COMPLETED' } });
    expect(cancel.lane).toEqual(cancel.routes);
  });
});
