import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT, type Call, type FastLane, startFastLane } from './fast-lane.test-helper.js';

// What the fast lane leaves to the Fastify routes (first use of a key, oversized, chunked or unusual
// requests, addresses that failed lately): the answer is the routes' own, the same as by inject.

let server: FastLane;

beforeAll(async () => {
  server = await startFastLane();
});

afterAll(async () => {
  await server?.close();
});

describe('fast lane', () => {
  const routedCases: [string, () => Call, number][] = [
    [
      'a key seen for the first time',
      () => ({ method: 'POST', path: '/run/alice/open', key: 'k:s', body: '{}', from: '127.0.0.3' }),
      401,
    ],
    [
      'a body over the limit',
      () => ({
        method: 'POST',
        path: '/run/alice/echo',
        key: server.aliceKey,
        body: `"${'x'.repeat(BODY_LIMIT)}"`,
      }),
      413,
    ],
    [
      'a chunked body',
      () => ({ method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: '{}', chunked: true }),
      200,
    ],
    [
      'a percent-encoded path',
      () => ({ method: 'POST', path: '/run/alice/ec%68o', key: server.aliceKey, body: '{}' }),
      200,
    ],
    [
      'a matrix parameter',
      () => ({ method: 'POST', path: '/run/alice/echo;v=1', key: server.aliceKey, body: '{}' }),
      404,
    ],
  ];

  it.each(routedCases)('leaves %s to the routes', async (_name, call, status) => {
    const { lane, routes, routedBySocket } = await server.both(call());
    expect(routedBySocket).toBe(true);
    expect(lane.status).toBe(status);
    expect(lane).toEqual(routes);
  });

  it('leaves a verified key from an address that failed lately to the routes, throttled or not', async () => {
    const from = '127.0.0.2';
    const wrongKey = `${server.aliceKey.split(':')[0]}:wrong`;
    const call: Call = { method: 'POST', path: '/run/alice/echo', key: server.aliceKey, body: '{}', from };
    await server.send({ method: 'POST', path: '/run/alice/open', key: wrongKey, body: '{}', from });
    const once = await server.both(call);
    expect(once.routedBySocket).toBe(true);
    expect(once.lane.status).toBe(200);
    expect(once.lane).toEqual(once.routes);

    await server.send({ method: 'POST', path: '/run/alice/open', key: wrongKey, body: '{}', from });
    await server.send({ method: 'POST', path: '/run/alice/open', key: wrongKey, body: '{}', from });
    const streamPath = '/queue/alice/echo/requests/00000000-0000-0000-0000-000000000000/status/stream';
    for (const c of [call, { method: 'GET', path: streamPath, key: server.aliceKey, from } as Call]) {
      const throttled = await server.both(c);
      expect(throttled.routedBySocket).toBe(true);
      expect(throttled.lane).toMatchObject({
        status: 429,
        retryAfter: '20',
        body: { detail: expect.any(String), error_type: 'rate_limited' },
      });
      expect(throttled.lane).toEqual(throttled.routes);
    }
    // Other addresses keep the lane.
    const elsewhere = await server.both({ ...call, from: '127.0.0.1' });
    expect(elsewhere.routedBySocket).toBe(false);
    expect(elsewhere.lane).toEqual(elsewhere.routes);
  });
});
