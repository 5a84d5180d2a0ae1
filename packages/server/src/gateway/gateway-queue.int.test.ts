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
let alice2Key: string;
let bobKey: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-gw-queue-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 1, logBus, logs: stores.logs });
  server = await startTestServer({ stores, dispatcher, logBus });
  aliceKey = await createTestKey(stores.keys, 'alice');
  alice2Key = await createTestKey(stores.keys, 'alice');
  bobKey = await createTestKey(stores.keys, 'bob');
  await putTestApp(stores.apps, 'alice', 'echo', { auth_mode: 'shared', request_timeout: 60 });
});

afterAll(async () => {
  await server.close();
  await dispatcher.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

const headers = (key: string, extra: Record<string, string> = {}) => ({
  authorization: `Key ${key}`,
  'content-type': 'application/json',
  ...extra,
});

async function submit(input: unknown, key = aliceKey, extra: Record<string, string> = {}, path = '') {
  const res = await fetch(`${server.url}/queue/alice/echo${path}`, {
    method: 'POST',
    headers: headers(key, extra),
    body: JSON.stringify(input),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, string | number>;
}

const get = (url: string, key = aliceKey) => fetch(url, { headers: { authorization: `Key ${key}` } });

async function waitCompleted(statusUrl: string, key = aliceKey) {
  await expect
    .poll(async () => ((await (await get(statusUrl, key)).json()) as { status: string }).status)
    .toBe('COMPLETED');
}

describe('queue', () => {
  it('submits, reports status with logs and serves the result with the request id', async () => {
    const sub = await submit({ n: 1 }, aliceKey, {}, '/turbo');
    const id = String(sub['request_id']);
    const base = `${server.url}/queue/alice/echo/requests/${id}`;
    expect(sub).toMatchObject({
      status: 'IN_QUEUE',
      response_url: base,
      status_url: `${base}/status`,
      cancel_url: `${base}/cancel`,
    });
    expect(typeof sub['queue_position']).toBe('number');
    await waitCompleted(`${base}/status`);
    const status = await get(`${base}/status?logs=1`);
    expect(status.status).toBe(200);
    const body = (await status.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'COMPLETED', request_id: id, metrics: {} });
    expect(body['error']).toBeUndefined();
    expect(body['logs']).toEqual([
      expect.objectContaining({ message: `processing ${id}`, level: 'INFO', source: 'USER' }),
    ]);
    expect(((await (await get(`${base}/status?logs=false`)).json()) as { logs: unknown }).logs).toBeNull();
    const result = await get(base);
    expect(result.status).toBe(200);
    expect(result.headers.get('x-fal-request-id')).toBe(id);
    expect(await result.json()).toMatchObject({ echo: { n: 1 }, path: '/turbo' });
    expect((await get(`${base}/response`)).status).toBe(200);
    await stores.flush();
    const rec = (await stores.requests.get(id))!;
    expect(rec).toMatchObject({ mode: 'queue', status: 'COMPLETED', statusCode: 200, attempts: 1 });
    expect(rec.endpointId).toBe('alice/echo/turbo');
    expect(rec.billableUnits).not.toBeNull();
    expect(rec.prepareMs).not.toBeNull();
  });

  it('records the start of a request still running after a while, and its completion with every field', async () => {
    const sub = await submit({ sleep_ms: 700 });
    const id = String(sub['request_id']);
    // The start is written late (a quick request records it only with its completion), but it is written.
    await expect
      .poll(async () => (await stores.requests.get(id))?.status, { timeout: 5000 })
      .toBe('IN_PROGRESS');
    expect(await stores.requests.get(id)).toMatchObject({ attempts: 1, startedAt: expect.any(Number) });
    await waitCompleted(`${server.url}/queue/alice/echo/requests/${id}/status`);
    await expect.poll(async () => (await stores.requests.get(id))?.status).toBe('COMPLETED');
    const rec = (await stores.requests.get(id))!;
    expect(rec).toMatchObject({ statusCode: 200, attempts: 1, jsonOutput: { echo: { sleep_ms: 700 } } });
    expect(rec.startedAt).not.toBeNull();
    expect(rec.runnerId).not.toBeNull();
    expect(rec.durationMs).toBeGreaterThanOrEqual(600);
  });

  it('shows IN_QUEUE with queue positions, then IN_PROGRESS with a logs key, and 400 before completion', async () => {
    dispatcher.pause();
    const a = await submit({ sleep_ms: 300 });
    const b = await submit({ n: 2 });
    const c = await submit({ n: 3 }, aliceKey, { 'x-fal-queue-priority': 'low' });
    const d = await submit({ n: 4 });
    expect([a['queue_position'], b['queue_position'], c['queue_position'], d['queue_position']]).toEqual([
      0, 1, 2, 2,
    ]);
    const queued = await get(String(b['status_url']));
    expect(queued.status).toBe(202);
    expect(await queued.json()).toMatchObject({ status: 'IN_QUEUE', queue_position: 1 });
    expect(await gatewayError(await get(String(c['response_url'])))).toEqual(
      fal(400, 'bad_request', 'QUEUE_NOT_COMPLETED', 'Request is still in progress'),
    );
    dispatcher.resume();
    await expect
      .poll(async () => (await (await get(String(a['status_url']))).json()) as Record<string, unknown>)
      .toMatchObject({ status: 'IN_PROGRESS', logs: null });
    for (const s of [a, b, c, d]) await waitCompleted(String(s['status_url']));
  });

  it('cancels queued requests, signals running ones and refuses finished ones', async () => {
    dispatcher.pause();
    const queued = await submit({ n: 5 });
    const cancel = await fetch(String(queued['cancel_url']), { method: 'PUT', headers: headers(aliceKey) });
    expect(cancel.status).toBe(202);
    expect(await cancel.json()).toEqual({ status: 'CANCELLATION_REQUESTED' });
    dispatcher.resume();
    const done = (await (await get(String(queued['status_url']))).json()) as Record<string, unknown>;
    expect(done).toMatchObject({ status: 'COMPLETED', error_type: 'client_cancelled' });
    expect(await gatewayError(await get(String(queued['response_url'])))).toEqual(
      fal(499, 'client_cancelled', 'REQUEST_CANCELLED', 'Request was cancelled'),
    );
    const again = await fetch(String(queued['cancel_url']), { method: 'PUT', headers: headers(aliceKey) });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ status: 'ALREADY_COMPLETED' });

    const running = await submit({ sleep_ms: 400 });
    await expect
      .poll(
        async () => ((await (await get(String(running['status_url']))).json()) as { status: string }).status,
      )
      .toBe('IN_PROGRESS');
    const signal = await fetch(String(running['cancel_url']), { method: 'PUT', headers: headers(aliceKey) });
    expect(signal.status).toBe(202);
    expect(echo.cancels).toContain(running['request_id']);
    await waitCompleted(String(running['status_url']));
  });

  it('reports app failures with error and error_type', async () => {
    const sub = await submit({ status: 422 });
    await waitCompleted(String(sub['status_url']));
    const body = (await (await get(String(sub['status_url']))).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'Invalid status code: 422', error_type: 'bad_request' });
    expect((await get(String(sub['response_url']))).status).toBe(422);
  });

  it('isolates tenants: only the owner keys and the submitting key may read a request', async () => {
    const sub = await submit({ n: 6 }, bobKey);
    await waitCompleted(String(sub['status_url']), bobKey);
    expect((await get(String(sub['response_url']), bobKey)).status).toBe(200);
    expect((await get(String(sub['response_url']), alice2Key)).status).toBe(200);
    const mine = await submit({ n: 7 }, aliceKey);
    await waitCompleted(String(mine['status_url']));
    const denied = await get(String(mine['status_url']), bobKey);
    expect(await gatewayError(denied)).toEqual(fal(404, 'not_found', 'QUEUE_REQUEST_NOT_FOUND'));
    const anonymous = await fetch(String(mine['status_url']));
    expect(await gatewayError(anonymous)).toEqual(fal(401, 'authorization_error', 'AUTH_MISSING'));
  });

  it('answers unknown request ids and wrong apps with 404', async () => {
    const res = await get(
      `${server.url}/queue/alice/echo/requests/00000000-0000-0000-0000-000000000000/status`,
    );
    expect(await gatewayError(res)).toEqual(fal(404, 'not_found', 'QUEUE_REQUEST_NOT_FOUND'));
    const sub = await submit({ n: 8 });
    const wrongApp = String(sub['status_url']).replace('/alice/echo/', '/alice/other/');
    expect((await get(wrongApp)).status).toBe(404);
  });

  it('streams status changes over SSE and closes after COMPLETED', async () => {
    dispatcher.pause();
    const blocker = await submit({ sleep_ms: 50 });
    const sub = await submit({ sleep_ms: 100 });
    const stream = await get(`${sub['status_url']}/stream?logs=1`);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    setTimeout(() => dispatcher.resume(), 50);
    const text = await stream.text();
    const events = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ status: 'IN_QUEUE', queue_position: 1 });
    expect(events.at(-1)).toMatchObject({ status: 'COMPLETED', request_id: sub['request_id'] });
    expect(events.map((e) => e['status'])).toContain('IN_PROGRESS');
    const logs = events.flatMap((e) => (e['logs'] as { message: string }[] | undefined) ?? []);
    expect(logs.map((l) => l.message)).toEqual([`processing ${sub['request_id']}`]);
    const after = await (await get(`${sub['status_url']}/stream`)).text();
    expect(after.trim().startsWith('data: ')).toBe(true);
    expect(JSON.parse(after.trim().slice(6))).toMatchObject({ status: 'COMPLETED' });
    await waitCompleted(String(blocker['status_url']));
  });

  it('records x-fal-request-timeout as the start deadline, not bounded by the running limit', async () => {
    const sub = await submit({ n: 9 }, aliceKey, { 'x-fal-request-timeout': '600', 'x-fal-no-retry': '1' });
    await waitCompleted(String(sub['status_url']));
    await stores.flush();
    expect((await stores.requests.get(String(sub['request_id'])))?.timeoutS).toBe(600);
  });
});
