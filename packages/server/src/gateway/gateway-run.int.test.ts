import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogBus } from '../runners/log-bus.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { expectedGatewayError as fal, gatewayError } from './gateway-errors.test-helper.js';
import { type EchoApp, InlineDispatcher, startEchoApp } from './test-kit.js';
import { createTestKey, putTestApp, startTestServer, type TestServer } from './test-server.js';

let dir: string;
let stores: Stores;
let echo: EchoApp;
let dispatcher: InlineDispatcher;
let server: TestServer;
let aliceKey: string;
let bobKey: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-gw-run-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 4, logBus, logs: stores.logs });
  server = await startTestServer({ stores, dispatcher, logBus, bodyLimit: 4096 });
  aliceKey = await createTestKey(stores.keys, 'alice');
  bobKey = await createTestKey(stores.keys, 'bob');
  await putTestApp(stores.apps, 'alice', 'echo');
  await putTestApp(stores.apps, 'alice', 'open', { auth_mode: 'public' });
  await putTestApp(stores.apps, 'alice', 'team', { auth_mode: 'shared' });
});

afterAll(async () => {
  await server.close();
  await dispatcher.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = (key: string) => ({ authorization: `Key ${key}` });

describe('sync /run', () => {
  it('forwards the body to the runner and answers with its status, type, headers and a request id', async () => {
    const res = await fetch(`${server.url}/run/alice/echo`, {
      method: 'POST',
      headers: { ...auth(aliceKey), 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('x-app-header')).toBe('yes');
    const id = res.headers.get('x-fal-request-id')!;
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ echo: { prompt: 'hi' }, path: '/', request_id: id, endpoint: 'alice/echo' });
    await stores.flush();
    await expect.poll(async () => (await stores.requests.get(id))?.status).toBe('COMPLETED');
    const rec = (await stores.requests.get(id))!;
    expect(rec).toMatchObject({
      mode: 'sync',
      statusCode: 200,
      endpointId: 'alice/echo',
      runnerId: 'inline-runner',
    });
    expect(rec.billableUnits).not.toBeNull();
    expect(rec.jsonInput).toEqual({ prompt: 'hi' });
    expect(rec.jsonOutput).toMatchObject({ echo: { prompt: 'hi' } });
  });

  it('records a quick call once completed, and a slow one while it is still running', async () => {
    const quick = await fetch(`${server.url}/run/alice/echo`, {
      method: 'POST',
      headers: { ...auth(aliceKey), 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    const quickId = quick.headers.get('x-fal-request-id')!;
    const slow = fetch(`${server.url}/run/alice/echo`, {
      method: 'POST',
      headers: { ...auth(aliceKey), 'content-type': 'application/json' },
      body: '{"sleep_ms":900}',
    });
    const inFlight = await expect
      .poll(async () => (await stores.requests.listUnfinished()).filter((r) => r.mode === 'sync'), {
        timeout: 5000,
      })
      .toHaveLength(1)
      .then(async () => (await stores.requests.listUnfinished()).find((r) => r.mode === 'sync')!);
    expect(inFlight).toMatchObject({ status: 'IN_PROGRESS', attempts: 1 });
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fal-request-id')).toBe(inFlight.requestId);
    await expect.poll(async () => (await stores.requests.get(inFlight.requestId))?.status).toBe('COMPLETED');
    expect(await stores.requests.get(inFlight.requestId)).toMatchObject({ statusCode: 200, attempts: 1 });
    expect(await stores.requests.get(quickId)).toMatchObject({
      status: 'COMPLETED',
      statusCode: 200,
      attempts: 1,
      jsonInput: { n: 1 },
      jsonOutput: expect.objectContaining({ echo: { n: 1 } }),
    });
  });

  it('serves declared routes, passes query strings and records the route-level endpoint', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/run/alice/echo/turbo?steps=2',
      headers: auth(aliceKey),
      payload: { a: 1 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ path: '/turbo?steps=2', endpoint: 'alice/echo/turbo' });
  });

  it('passes app errors through and records them as runtime errors with billable units', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/run/alice/echo',
      headers: auth(aliceKey),
      payload: { fail: true, units: 3 },
    });
    expect(res.statusCode).toBe(500);
    const id = res.headers['x-fal-request-id'] as string;
    await stores.flush();
    await expect.poll(async () => (await stores.requests.get(id))?.status).toBe('COMPLETED');
    expect(await stores.requests.get(id)).toMatchObject({
      statusCode: 500,
      errorClass: 'runtime',
      billableUnits: 3,
    });
  });

  it('does not record payloads with X-Fal-Store-IO: 0', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/run/alice/echo',
      headers: { ...auth(aliceKey), 'x-fal-store-io': '0' },
      payload: { secret: 1 },
    });
    const id = res.headers['x-fal-request-id'] as string;
    await stores.flush();
    await expect.poll(async () => (await stores.requests.get(id))?.status).toBe('COMPLETED');
    expect(await stores.requests.get(id)).toMatchObject({
      storeIo: false,
      jsonInput: null,
      jsonOutput: null,
    });
  });
});

describe('app access and bad input', () => {
  const call = (url: string, headers: Record<string, string> = {}, payload: unknown = {}) =>
    server.app.inject({ method: 'POST', url, headers, payload: payload as object });

  it("answers unknown apps and routes with 404 in fal's gateway shape", async () => {
    const app = await call('/run/alice/nope', auth(aliceKey));
    expect(await gatewayError(app)).toEqual(
      fal(404, 'not_found', 'APP_NOT_FOUND', 'App alice/nope not found'),
    );
    const route = await call('/run/alice/echo/missing', auth(aliceKey));
    expect(await gatewayError(route)).toEqual(fal(404, 'not_found', 'ROUTE_NOT_FOUND'));
    const bare = await call('/run/alice', auth(aliceKey));
    expect(await gatewayError(bare)).toEqual(fal(404, 'not_found', 'ROUTE_NOT_FOUND'));
  });

  it('private apps answer only their owner: 401 without a key, 403 for other owners', async () => {
    const none = await call('/run/alice/echo');
    expect(await gatewayError(none)).toEqual(fal(401, 'authorization_error', 'AUTH_MISSING'));
    const other = await call('/run/alice/echo', auth(bobKey));
    expect(await gatewayError(other)).toEqual(fal(403, 'authorization_error', 'AUTH_FORBIDDEN'));
    // A wrong key is refused by the key check before any route code runs: the same shape.
    const wrong = await call('/run/alice/echo', { authorization: 'Key nope:nope' });
    expect(await gatewayError(wrong)).toEqual(fal(401, 'authorization_error', 'AUTH_INVALID'));
  });

  it('public apps answer anyone; shared apps any valid key', async () => {
    expect((await call('/run/alice/open')).statusCode).toBe(200);
    expect((await call('/run/alice/open', auth(bobKey))).statusCode).toBe(200);
    expect((await call('/run/alice/team')).statusCode).toBe(401);
    expect((await call('/run/alice/team', auth(bobKey))).statusCode).toBe(200);
  });

  it('rejects malformed JSON with 400 REQUEST_BAD_JSON and oversized bodies with 413', async () => {
    const bad = await server.app.inject({
      method: 'POST',
      url: '/run/alice/echo',
      headers: { ...auth(aliceKey), 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(await gatewayError(bad)).toEqual(fal(400, 'bad_request', 'REQUEST_BAD_JSON'));
    const big = await server.app.inject({
      method: 'POST',
      url: '/run/alice/echo',
      headers: { ...auth(aliceKey), 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'y'.repeat(10_000) }),
    });
    expect(await gatewayError(big)).toEqual(fal(413, 'bad_request', 'REQUEST_TOO_LARGE'));
  });

  it('rejects a bad x-fal-request-timeout', async () => {
    const res = await call('/run/alice/echo', { ...auth(aliceKey), 'x-fal-request-timeout': 'soon' });
    expect(await gatewayError(res)).toEqual(fal(400, 'bad_request', 'REQUEST_INVALID'));
  });

  it('forwards non-JSON bodies untouched', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/run/alice/echo',
      headers: { ...auth(aliceKey), 'content-type': 'text/plain' },
      payload: 'plain words',
    });
    expect(res.json()).toMatchObject({ echo: { raw: 'plain words' } });
  });
});

describe('/fal/proxy', () => {
  it('maps fal.run and queue.fal.run targets onto this server', async () => {
    const run = await server.app.inject({
      method: 'POST',
      url: '/fal/proxy',
      headers: { ...auth(aliceKey), 'x-fal-target-url': 'https://fal.run/alice/echo/turbo' },
      payload: { via: 'proxy' },
    });
    expect(run.statusCode).toBe(200);
    expect(run.json()).toMatchObject({ echo: { via: 'proxy' }, endpoint: 'alice/echo/turbo' });
    const submit = await server.app.inject({
      method: 'POST',
      url: '/fal/proxy',
      headers: { ...auth(aliceKey), 'x-fal-target-url': 'https://queue.fal.run/alice/echo' },
      payload: { via: 'queue' },
    });
    expect(submit.statusCode).toBe(200);
    expect(submit.json()).toMatchObject({ status: 'IN_QUEUE' });
    expect(submit.json().status_url).toMatch(new RegExp(`^${server.url}/queue/alice/echo/requests/`));
  });

  it('rejects targets that are not fal hosts', async () => {
    for (const target of ['https://evil.example/alice/echo', 'http://fal.run/alice/echo', 'nonsense', '']) {
      const res = await server.app.inject({
        method: 'POST',
        url: '/fal/proxy',
        headers: { ...auth(aliceKey), 'x-fal-target-url': target },
        payload: {},
      });
      expect(await gatewayError(res)).toEqual(fal(400, 'bad_request', 'PROXY_TARGET_INVALID'));
    }
  });

  it('serves the webhook verification keys', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.json().keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
  });
});
