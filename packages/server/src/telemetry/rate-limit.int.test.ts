import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addKey, openTestDb, type TestDb, testApp } from '../api/apps/testing/harness.test-helper.js';
import type { HttpApp } from '../http/app.js';
import { createRateLimitHook } from './rate-limit.js';

describe('rate limit hook', () => {
  let t: TestDb;
  let app: HttpApp;
  let now = 0;
  let alice: string;
  let bob: string;

  beforeAll(() => {
    t = openTestDb();
    alice = addKey(t.db, 'alice').auth;
    bob = addKey(t.db, 'bob').auth;
    app = testApp(t.db);
    app.addHook('onRequest', createRateLimitHook({ requestsPerSecond: 1, burst: 2, clock: () => now }));
    app.get('/v1/serverless/ping', async () => ({ ok: true }));
    app.get('/health', { config: { auth: 'none' } }, async () => ({ ok: true }));
  });
  afterAll(async () => {
    await app.close();
    t.close();
  });

  const get = (url: string, auth?: string) =>
    app.inject({ method: 'GET', url, headers: auth ? { authorization: auth } : {} });

  it('answers 429 rate_limited with Retry-After per key, other keys unaffected', async () => {
    expect((await get('/v1/serverless/ping', alice)).statusCode).toBe(200);
    expect((await get('/v1/serverless/ping', alice)).statusCode).toBe(200);
    const limited = await get('/v1/serverless/ping', alice);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json().error).toMatchObject({ type: 'rate_limited', code: 'REQUEST_RATE_LIMITED' });
    expect((await get('/v1/serverless/ping', bob)).statusCode).toBe(200);
    now += 1000;
    expect((await get('/v1/serverless/ping', alice)).statusCode).toBe(200);
  });

  it('leaves routes outside /v1 alone', async () => {
    for (let i = 0; i < 5; i++) expect((await get('/health')).statusCode).toBe(200);
  });

  it('is off when the rate is 0', async () => {
    const hook = createRateLimitHook({ requestsPerSecond: 0, burst: 1 });
    await expect(hook({} as never)).resolves.toBeUndefined();
  });
});
