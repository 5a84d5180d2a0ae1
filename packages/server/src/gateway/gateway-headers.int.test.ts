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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-gw-headers-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 2, logBus, runnerId: 'runner-a1' });
  server = await startTestServer({ stores, dispatcher, logBus });
  aliceKey = await createTestKey(stores.keys, 'alice');
  await putTestApp(stores.apps, 'alice', 'echo');
  await putTestApp(stores.apps, 'alice', 'open', { auth_mode: 'public' });
});

afterAll(async () => {
  await server.close();
  await dispatcher.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = { 'content-type': 'application/json' };

function call(path: string, input: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { ...json, authorization: `Key ${aliceKey}`, ...headers },
    body: JSON.stringify(input),
  });
}

async function completed(statusUrl: string): Promise<void> {
  const headers = { authorization: `Key ${aliceKey}` };
  await expect
    .poll(async () => ((await (await fetch(statusUrl, { headers })).json()) as { status: string }).status)
    .toBe('COMPLETED');
}

describe('what the app receives', () => {
  it("strips fal's platform headers and fal_* parameters, and adds the caller's user id", async () => {
    const res = await call(
      '/run/alice/echo?keep=1&fal_max_queue_length=50&fal_anything=x&also=2',
      { echo_headers: true },
      {
        'x-fal-runner-hint': 'lora-7',
        'x-fal-retry-config': '{"timeout":{"retries":0}}',
        'x-fal-store-io': '1',
        'x-fal-queue-priority': 'normal',
        'x-fal-request-timeout': '30',
        'x-fal-no-retry': '1',
        'x-fal-object-lifecycle-preference': '{"expiration_duration_seconds":60}',
        'x-fal-caller-user-id': 'mallory',
        'x-fal-request-id': 'forged',
        'x-app-fal-disable-fallback': 'true',
        'x-custom': 'kept',
      },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { path: string; headers: Record<string, string> };
    expect(body.path).toBe('/?keep=1&also=2');
    const falHeaders = Object.keys(body.headers).filter((h) => h.startsWith('x-fal-') || h.includes('fal-'));
    expect(falHeaders.sort()).toEqual(['x-fal-caller-user-id', 'x-fal-endpoint', 'x-fal-request-id']);
    expect(body.headers).toMatchObject({
      'x-custom': 'kept',
      'x-fal-caller-user-id': 'alice',
      'x-fal-request-id': res.headers.get('x-fal-request-id'),
      'x-fal-endpoint': 'alice/echo',
    });
    // Stripped from the app's headers, the routing inputs still reach the dispatcher.
    const sent = dispatcher.dispatched.find((d) => d.requestId === res.headers.get('x-fal-request-id'));
    expect(sent).toMatchObject({
      runnerHint: 'lora-7',
      // A direct call is never retried, so the caller's retry budgets are not passed on.
      retryBudgets: null,
      noRetry: true,
    });
  });

  it('sends no caller id for an anonymous call, even a forged one', async () => {
    const res = await fetch(`${server.url}/queue/alice/open?fal_other=1&k=v`, {
      method: 'POST',
      headers: { ...json, 'x-fal-caller-user-id': 'mallory' },
      body: JSON.stringify({ echo_headers: true }),
    });
    const sub = (await res.json()) as { status_url: string; response_url: string };
    await completed(sub.status_url);
    const body = (await (await fetch(sub.response_url)).json()) as {
      path: string;
      headers: Record<string, string>;
    };
    expect(body.path).toBe('/?k=v');
    expect(body.headers['x-fal-caller-user-id']).toBeUndefined();
  });
});

describe('what the caller receives', () => {
  it('returns the billing units, the runner that served the call and timeout types on /run', async () => {
    const res = await call('/run/alice/echo', {
      units: 2.5,
      set_headers: { 'x-fal-served-from': 'app-says-so', 'x-fal-request-timeout-type': 'user' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fal-billable-units')).toBe('2.5');
    expect(res.headers.get('x-fal-served-from')).toBe('runner-a1');
    expect(res.headers.get('x-fal-request-timeout-type')).toBe('user');
    await stores.flush();
    const rec = await stores.requests.get(res.headers.get('x-fal-request-id')!);
    expect(rec?.billableUnits).toBe(2.5);
  });

  it("returns the same headers with a queued request's result, also once it is read from the store", async () => {
    const res = await call('/queue/alice/echo', {
      units: 4,
      status: 504,
      set_headers: { 'x-fal-request-timeout-type': 'user' },
    });
    const sub = (await res.json()) as { request_id: string; status_url: string; response_url: string };
    await completed(sub.status_url);
    const result = await fetch(sub.response_url, { headers: { authorization: `Key ${aliceKey}` } });
    expect(result.status).toBe(504);
    expect(result.headers.get('x-fal-billable-units')).toBe('4');
    expect(result.headers.get('x-fal-served-from')).toBe('runner-a1');
    expect(result.headers.get('x-fal-request-timeout-type')).toBe('user');
    await stores.flush();
    expect((await stores.requests.getResult(sub.request_id))?.headers).toEqual({
      'x-fal-billable-units': '4',
      'x-fal-served-from': 'runner-a1',
      'x-fal-request-timeout-type': 'user',
    });
  });

  it("answers a cancelled request's result 499 client_cancelled, with the type in the header", async () => {
    dispatcher.pause();
    try {
      const sub = (await (await call('/queue/alice/echo', {})).json()) as {
        status_url: string;
        response_url: string;
        cancel_url: string;
      };
      const headers = { authorization: `Key ${aliceKey}` };
      expect((await fetch(sub.cancel_url, { method: 'PUT', headers })).status).toBe(202);
      await completed(sub.status_url);
      expect(await gatewayError(await fetch(sub.response_url, { headers }))).toEqual(
        fal(499, 'client_cancelled', 'REQUEST_CANCELLED', 'Request was cancelled'),
      );
    } finally {
      dispatcher.resume();
    }
  });
});

describe('fal_max_queue_length', () => {
  it('answers 429 when more requests wait than allowed, records nothing and forwards nothing', async () => {
    dispatcher.pause();
    const waiting: { status_url: string }[] = [];
    try {
      for (let i = 0; i < 2; i++)
        waiting.push((await (await call('/queue/alice/echo', { i })).json()) as never);
      // Two wait: a limit of 2 still admits a third, a limit of 1 (or 0) does not.
      const admitted = await call('/queue/alice/echo?fal_max_queue_length=2', { i: 2 });
      expect(admitted.status).toBe(200);
      waiting.push((await admitted.json()) as never);
      const before = (await stores.requests.listUnfinished()).length;
      for (const path of [
        '/queue/alice/echo?fal_max_queue_length=1',
        '/run/alice/echo?fal_max_queue_length=0',
      ]) {
        const refused = await call(path, { i: 9 });
        expect(await gatewayError(refused)).toEqual(
          fal(
            429,
            'queue_length_exceeded',
            'QUEUE_LENGTH_EXCEEDED',
            expect.stringContaining('3 requests are waiting') as unknown as string,
          ),
        );
      }
      expect((await stores.requests.listUnfinished()).length).toBe(before);
      for (const bad of ['-1', 'x', '1.5', '']) {
        const res = await call(`/queue/alice/echo?fal_max_queue_length=${bad}`, {});
        expect(await gatewayError(res)).toEqual(fal(400, 'bad_request', 'REQUEST_INVALID'));
      }
    } finally {
      dispatcher.resume();
    }
    for (const w of waiting) await completed(w.status_url);
    // With the queue empty again, the same limit admits the request; the parameter never reaches the app.
    const res = await call('/run/alice/echo?fal_max_queue_length=0', {});
    expect(res.status).toBe(200);
    expect(((await res.json()) as { path: string }).path).toBe('/');
  });
});
