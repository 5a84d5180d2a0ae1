import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFalClient } from '@fal-ai/client';
import { type Stores, uuidIds } from '@hangar/core';
import { WebSocket as UndiciWebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type GatewayStack, openGatewayStack } from './e2e-stack.test-helper.js';
import { registerRealtime } from './realtime-routes.js';
import { signRealtimeGrant } from './realtime-token.js';
import { createTestKey } from './test-server.js';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples');
const MAX_CONNECTIONS = 3;
const APP = 'alice/realtime-echo';

let stack: GatewayStack;
let stores: Stores;
let base: string;
let wsBase: string;
let key: string;
let bobKey: string;
const secret = randomBytes(32);
const issuedIds: string[] = [];

beforeAll(async () => {
  stack = await openGatewayStack({
    prefix: 'hangar-realtime-e2e-',
    maxStreams: MAX_CONNECTIONS,
    ids: () => {
      const id = uuidIds();
      issuedIds.push(id);
      return id;
    },
    register: ({ http, gateway, authenticator }) =>
      registerRealtime(http, gateway, { authenticator, tokenSecret: secret, onError: () => undefined }),
  });
  ({ stores, base } = stack);
  wsBase = base.replace(/^http/, 'ws');
  key = await createTestKey(stores.keys, 'alice');
  bobKey = await createTestKey(stores.keys, 'bob');
  await stack.deployDir('alice', join(EXAMPLES, 'realtime-echo-node'));
  await stack.deployDir('alice', join(EXAMPLES, 'echo-node'));
});

afterAll(async () => {
  await stack?.close();
});

/** The supported way to point `fal.realtime` at Hangar: a `WebSocket` class that rewrites fal's URL. */
function hangarWebSocket(): typeof UndiciWebSocket {
  return class HangarWebSocket extends UndiciWebSocket {
    constructor(url: string | URL, protocols?: ConstructorParameters<typeof UndiciWebSocket>[1]) {
      super(String(url).replace(/^wss:\/\/fal\.run\//, `${wsBase}/run/`), protocols);
    }
  };
}

type Client = ReturnType<typeof createFalClient>;

const clients: [string, () => Client][] = [
  [
    'requestMiddleware rewrite',
    () =>
      createFalClient({
        credentials: key,
        requestMiddleware: async (req) => ({
          ...req,
          url: req.url
            .replace(/^https:\/\/fal\.run\//, `${base}/run/`)
            .replace(/^https:\/\/rest\.fal\.ai\//, `${base}/`),
        }),
      }),
  ],
  [
    'proxyUrl',
    () => createFalClient({ credentials: key, proxyUrl: { url: `${base}/fal/proxy`, when: 'always' } }),
  ],
];

/** Opens a WebSocket with `ws` and reports how the handshake ended: open, or the HTTP status and body. */
function handshake(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket } | { status: number; body: string; code: string }> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => done({ ws }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () =>
        done({ status: res.statusCode ?? 0, body, code: String(res.headers['x-hangar-error-code']) }),
      );
    });
    ws.on('error', fail);
  });
}

async function refused(url: string, headers: Record<string, string> = {}) {
  const result = await handshake(url, headers);
  if ('ws' in result) throw new Error('the connection was accepted');
  // Refused upgrades answer in fal's gateway shape, with Hangar's code beside it.
  const body = JSON.parse(result.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['detail', 'error_type']);
  return { status: result.status, code: result.code };
}

async function tokenFor(apps: string[], k = key): Promise<string> {
  const res = await fetch(`${base}/tokens/`, {
    method: 'POST',
    headers: { authorization: `Key ${k}`, 'content-type': 'application/json' },
    body: JSON.stringify({ allowed_apps: apps, token_expiration: 120 }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as string;
}

describe.each(clients)('fal.realtime through %s', (_name, makeClient) => {
  it('round-trips msgpack messages through the runner', async () => {
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    (globalThis as { WebSocket?: unknown }).WebSocket = hangarWebSocket();
    try {
      const client = makeClient();
      const results: unknown[] = [];
      const errors: unknown[] = [];
      const connection = client.realtime.connect(APP, {
        onResult: (r) => results.push(r),
        onError: (e) => errors.push(e),
      });
      connection.send({ prompt: 'a lighthouse', seed: 7, bytes: new Uint8Array([0, 1, 255]) });
      await expect.poll(() => results.length + errors.length, { timeout: 20_000 }).toBe(1);
      expect(errors).toEqual([]);
      expect(results[0]).toEqual({ prompt: 'a lighthouse', seed: 7, bytes: new Uint8Array([0, 1, 255]) });
      connection.close();
      expect(errors).toEqual([]);
    } finally {
      (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });
});

describe('WebSocket routes', () => {
  it('passes binary and text frames unchanged and records the connection as a request', async () => {
    const opened = await handshake(`${wsBase}/run/${APP}/realtime`, { authorization: `Key ${key}` });
    if (!('ws' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
    const ws = opened.ws;
    const frames: { data: Buffer; binary: boolean }[] = [];
    ws.on('message', (data, binary) => frames.push({ data: data as Buffer, binary }));
    const payload = randomBytes(70_000);
    ws.send(payload);
    ws.send('hello');
    await expect.poll(() => frames.length, { timeout: 10_000 }).toBe(2);
    expect(frames[0]!.binary).toBe(true);
    expect(frames[0]!.data.equals(payload)).toBe(true);
    expect(frames[1]).toEqual({ data: Buffer.from('hello'), binary: false });
    const closed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
    ws.close(4001, 'done');
    expect(await closed).toBe(4001);

    const requestId = issuedIds.at(-1)!;
    await expect.poll(async () => (await stores.requests.get(requestId))?.status).toBe('COMPLETED');
    const rec = (await stores.requests.get(requestId))!;
    expect(rec.endpointId).toBe(`${APP}/realtime`);
    expect(rec.statusCode).toBe(101);
    expect(rec.durationMs).toBeGreaterThanOrEqual(0);
    expect(rec.billableUnits).toBe(rec.durationMs! / 1000);
    expect(JSON.parse(JSON.stringify(rec.jsonOutput))).toEqual({
      websocket: { close_code: 4001, bytes_received: 70_005, bytes_sent: 70_005 },
    });
  });

  it('accepts a token from POST /tokens/ for the apps it names, by name or owner/name', async () => {
    for (const apps of [['realtime-echo'], [APP]]) {
      const token = await tokenFor(apps);
      const opened = await handshake(`${wsBase}/run/${APP}/realtime?fal_jwt_token=${token}`);
      if (!('ws' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
      opened.ws.close();
    }
  });

  it('refuses forged, expired and other-app tokens', async () => {
    const url = (token: string) => `${wsBase}/run/${APP}/realtime?fal_jwt_token=${encodeURIComponent(token)}`;
    const good = await tokenFor(['realtime-echo']);
    const [payload, mac] = good.split('.') as [string, string];
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), e: Date.now() + 1e9 }),
    ).toString('base64url');
    expect(await refused(url(`${widened}.${mac}`))).toEqual({ status: 401, code: 'REALTIME_TOKEN_INVALID' });
    expect(await refused(url(`${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`))).toEqual({
      status: 401,
      code: 'REALTIME_TOKEN_INVALID',
    });
    expect(await refused(url('not-a-token'))).toEqual({ status: 401, code: 'REALTIME_TOKEN_INVALID' });
    const principal = { keyId: key.split(':')[0]!, owner: 'alice', scope: 'API' as const };
    const expired = signRealtimeGrant(secret, { principal, apps: [APP], expiresAt: Date.now() - 1 });
    expect(await refused(url(expired))).toEqual({ status: 401, code: 'REALTIME_TOKEN_EXPIRED' });
    expect(await refused(url(await tokenFor(['echo'])))).toEqual({ status: 403, code: 'REALTIME_TOKEN_APP' });
    expect(await refused(url(await tokenFor(['bob/realtime-echo'])))).toEqual({
      status: 403,
      code: 'REALTIME_TOKEN_APP',
    });
    // Another owner's key gets a token, but the private app still refuses its caller.
    expect(await refused(url(await tokenFor([APP], bobKey)))).toEqual({
      status: 403,
      code: 'AUTH_FORBIDDEN',
    });
    expect(await refused(`${wsBase}/run/${APP}/realtime`)).toEqual({ status: 401, code: 'AUTH_MISSING' });
  });

  it('refuses a WebSocket to a route that is not one, and plain HTTP to a WebSocket route', async () => {
    const auth = { authorization: `Key ${key}` };
    expect(await refused(`${wsBase}/run/${APP}`, auth)).toEqual({
      status: 400,
      code: 'REALTIME_NOT_WEBSOCKET',
    });
    expect(await refused(`${wsBase}/run/alice/echo`, auth)).toEqual({
      status: 400,
      code: 'REALTIME_NOT_WEBSOCKET',
    });
    expect(await refused(`${wsBase}/run/${APP}/nope`, auth)).toEqual({
      status: 404,
      code: 'ROUTE_NOT_FOUND',
    });
    expect(await refused(`${wsBase}/queue/${APP}/realtime`, auth)).toEqual({
      status: 404,
      code: 'ROUTE_NOT_FOUND',
    });
    const res = await fetch(`${base}/run/${APP}/realtime`, { method: 'POST', headers: auth, body: '{}' });
    expect(res.status).toBe(426);
    expect(res.headers.get('x-hangar-error-code')).toBe('REALTIME_UPGRADE_REQUIRED');
    expect(await res.json()).toEqual({ detail: expect.any(String), error_type: 'bad_request' });
  });

  it('caps open connections per key, sharing the stream slots', async () => {
    const open: WebSocket[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const opened = await handshake(`${wsBase}/run/${APP}/realtime`, { authorization: `Key ${key}` });
      if (!('ws' in opened)) throw new Error(`refused: ${opened.status}`);
      open.push(opened.ws);
    }
    expect(await refused(`${wsBase}/run/${APP}/realtime`, { authorization: `Key ${key}` })).toEqual({
      status: 429,
      code: 'LOGS_STREAM_LIMIT',
    });
    const closed = open.map((ws) => new Promise((done) => ws.on('close', done)));
    for (const ws of open) ws.close();
    await Promise.all(closed);
    await expect
      .poll(async () => {
        const r = await handshake(`${wsBase}/run/${APP}/realtime`, { authorization: `Key ${key}` });
        if ('ws' in r) r.ws.close();
        return 'ws' in r;
      })
      .toBe(true);
  });
});
