import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, createFalClient } from '@fal-ai/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayStack, openGatewayStack } from './e2e-stack.test-helper.js';
import { createTestKey } from './test-server.js';

/**
 * One runner, one slot: a request waits while another runs. The JSON body steers the answer: `sleep_ms`,
 * and `fail_times` (the first N attempts of a request id answer 503, or 500 with `X-Fal-Needs-Retry: 1`
 * when `soft` is set).
 */
const APP = `
import http from 'node:http';
const attempts = new Map();
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/health') { res.end('ok'); return; }
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    const id = req.headers['x-fal-request-id'];
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    setTimeout(() => {
      const failing = attempt <= (body.fail_times ?? 0);
      const status = failing ? (body.soft ? 500 : 503) : 200;
      const headers = { 'content-type': 'application/json' };
      if (failing) Object.assign(headers, body.soft ? { 'x-fal-needs-retry': '1' } : { 'x-fal-stop-runner': '0' });
      res.writeHead(status, headers);
      res.end(JSON.stringify({ attempt }));
    }, body.sleep_ms ?? 0);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

let stack: GatewayStack;
let appDir: string;
let aliceKey: string;
let bobKey: string;

beforeAll(async () => {
  stack = await openGatewayStack({ prefix: 'hangar-retries-e2e-' });
  appDir = mkdtempSync(join(tmpdir(), 'hangar-retry-app-'));
  writeFileSync(join(appDir, 'app.mjs'), APP);
  writeFileSync(
    join(appDir, 'hangar.json'),
    JSON.stringify({
      name: 'one',
      command: ['node', 'app.mjs'],
      machine_type: 'CPU',
      auth_mode: 'shared',
      min_concurrency: 1,
      max_concurrency: 1,
      max_multiplexing: 1,
      request_timeout: 30,
    }),
  );
  aliceKey = await createTestKey(stack.stores.keys, 'alice');
  bobKey = await createTestKey(stack.stores.keys, 'bob');
  await stack.deployDir('alice', appDir);
});

afterAll(async () => {
  await stack?.close();
  rmSync(appDir, { recursive: true, force: true });
});

const client = (key: string) =>
  createFalClient({
    credentials: key,
    requestMiddleware: async (req) => ({
      ...req,
      url: req.url
        .replace(/^https:\/\/queue\.fal\.run\//, `${stack.base}/queue/`)
        .replace(/^https:\/\/fal\.run\//, `${stack.base}/run/`),
    }),
  });

async function post(path: string, body: unknown, headers: Record<string, string> = {}, key = aliceKey) {
  return fetch(`${stack.base}${path}`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** fal's answer to a queue submit, as far as these tests read it. */
type Queued = { request_id: string };

async function record(requestId: string) {
  await stack.stores.flush();
  return stack.stores.requests.get(requestId);
}

describe('start deadline (X-Fal-Request-Timeout)', () => {
  it('@fal-ai/client startTimeout: a request still queued at its deadline fails as a user timeout', async () => {
    const fal = client(aliceKey);
    const blocker = fal.subscribe('alice/one', { input: { sleep_ms: 3500 }, pollInterval: 100 });
    await new Promise((r) => setTimeout(r, 300));
    const err = await fal.subscribe('alice/one', { input: {}, startTimeout: 1.5, pollInterval: 100 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<unknown>).status).toBe(504);
    expect((err as ApiError<unknown>).isUserTimeout).toBe(true);
    const rec = await record((err as ApiError<unknown>).requestId);
    expect(rec).toMatchObject({
      status: 'COMPLETED',
      statusCode: 504,
      errorClass: 'start_timeout',
      attempts: 0,
    });
    expect(rec?.startedAt).toBeNull();
    expect((await blocker).data).toEqual({ attempt: 1 });
  });

  it('@fal-ai/client startTimeout does not cut a request that started in time', async () => {
    const result = await client(aliceKey).subscribe('alice/one', {
      input: { sleep_ms: 2500 },
      startTimeout: 2,
      pollInterval: 100,
    });
    expect(result.data).toEqual({ attempt: 1 });
  });

  it('a sync call still waiting at its deadline answers 504 with X-Fal-Request-Timeout-Type: user', async () => {
    const blocker = post('/run/alice/one', { sleep_ms: 1500 });
    await new Promise((r) => setTimeout(r, 200));
    const res = await post('/run/alice/one', {}, { 'x-fal-request-timeout': '0.5' });
    expect(res.status).toBe(504);
    expect(res.headers.get('x-fal-request-timeout-type')).toBe('user');
    expect((await blocker).status).toBe(200);
  });

  it('refuses a start timeout of 0.1 s or less', async () => {
    const res = await post('/queue/alice/one', {}, { 'x-fal-request-timeout': '0.1' });
    expect(res.status).toBe(400);
  });
});

describe('retries through the gateway', () => {
  it('retries a queued request and never a direct call', async () => {
    const queued = (await (await post('/queue/alice/one', { fail_times: 1 })).json()) as Queued;
    await expect
      .poll(async () => (await record(queued.request_id))?.status, { timeout: 10_000 })
      .toBe('COMPLETED');
    expect(await record(queued.request_id)).toMatchObject({ statusCode: 200, attempts: 2 });

    const direct = await post('/run/alice/one', { fail_times: 1 });
    expect(direct.status).toBe(503);
    const rec = await record(String(direct.headers.get('x-fal-request-id')));
    expect(rec).toMatchObject({ statusCode: 503, attempts: 1 });
  });

  it("honours X-Fal-Retry-Config from the app's owner only", async () => {
    const config = { 'x-fal-retry-config': '{"server_error":{"retries":0}}' };
    const own = (await (
      await post('/queue/alice/one', { fail_times: 2, soft: true }, config)
    ).json()) as Queued;
    const other = (await (
      await post('/queue/alice/one', { fail_times: 2, soft: true }, config, bobKey)
    ).json()) as Queued;
    for (const id of [own.request_id, other.request_id]) {
      await expect.poll(async () => (await record(id))?.status, { timeout: 10_000 }).toBe('COMPLETED');
    }
    expect(await record(own.request_id)).toMatchObject({ statusCode: 500, attempts: 1 });
    expect(await record(other.request_id)).toMatchObject({ statusCode: 200, attempts: 3 });
  });
});
