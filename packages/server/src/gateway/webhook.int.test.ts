import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stores } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogBus } from '../runners/log-bus.js';
import { createMemoryStores } from '../store/memory/index.js';
import { expectedGatewayError as fal, gatewayError } from './gateway-errors.test-helper.js';
import { type EchoApp, InlineDispatcher, startEchoApp } from './test-kit.js';
import { createTestKey, putTestApp, startTestServer, type TestServer } from './test-server.js';
import { type Jwks, verifyWebhookSignature } from './webhook-signer.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let stores: Stores;
let echo: EchoApp;
let dispatcher: InlineDispatcher;
let open: TestServer;
let strict: TestServer;
let receiver: Server;
let hookUrl: string;
let key: string;
const received: Received[] = [];
let failFirst = 0;

beforeAll(async () => {
  stores = createMemoryStores();
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 2, logBus });
  open = await startTestServer({
    stores,
    dispatcher,
    logBus,
    webhook: { allowPrivate: true, retryBaseMs: 10 },
  });
  strict = await startTestServer({ stores, dispatcher, logBus });
  key = await createTestKey(stores.keys, 'alice');
  await putTestApp(stores.apps, 'alice', 'echo');
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = failFirst-- > 0 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await open.close();
  await strict.close();
  await dispatcher.close();
  await echo.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});

async function submit(server: TestServer, input: unknown, webhook: string) {
  return fetch(`${server.url}/queue/alice/echo?fal_webhook=${encodeURIComponent(webhook)}`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
}

describe('webhooks', () => {
  it('POSTs a signed completion body, verifiable with the published key set, retrying failures', async () => {
    received.length = 0;
    failFirst = 1;
    const res = await submit(open, { hello: 'hook' }, `${hookUrl}?tag=1`);
    const sub = (await res.json()) as Record<string, string>;
    expect(sub['gateway_request_id']).toBe(sub['request_id']);
    await expect.poll(() => received.length).toBe(2);
    const { headers, body } = received[1]!;
    expect(JSON.parse(body.toString())).toMatchObject({
      request_id: sub['request_id'],
      gateway_request_id: sub['request_id'],
      status: 'OK',
      payload: { echo: { hello: 'hook' } },
    });
    expect(headers['x-fal-webhook-request-id']).toBe(sub['request_id']);
    expect(headers['x-fal-webhook-user-id']).toBe('alice');
    const jwks = (await (await fetch(`${open.url}/.well-known/jwks.json`)).json()) as Jwks;
    const signed = {
      requestId: String(headers['x-fal-webhook-request-id']),
      userId: String(headers['x-fal-webhook-user-id']),
      timestamp: String(headers['x-fal-webhook-timestamp']),
      signature: String(headers['x-fal-webhook-signature']),
    };
    expect(verifyWebhookSignature(jwks, signed, body)).toBe(true);
    expect(verifyWebhookSignature(jwks, signed, Buffer.from(`${body}x`))).toBe(false);
  });

  it('reports app errors as status ERROR with the status code', async () => {
    received.length = 0;
    failFirst = 0;
    await submit(open, { status: 422 }, hookUrl);
    await expect.poll(() => received.length).toBe(1);
    expect(JSON.parse(received[0]!.body.toString())).toMatchObject({
      status: 'ERROR',
      error: 'Invalid status code: 422',
      payload: { echo: { status: 422 } },
    });
  });

  it('refuses loopback and private destinations unless the operator allows them', async () => {
    for (const url of [
      hookUrl,
      'http://localhost:9/hook',
      'http://[::1]/',
      'http://169.254.169.254/',
      'ftp://x/',
    ]) {
      const res = await submit(strict, {}, url);
      expect(await gatewayError(res)).toEqual(fal(400, 'bad_request', 'REQUEST_INVALID'));
    }
  });
});
