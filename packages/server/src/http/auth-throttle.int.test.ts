import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE, loadConfig } from '../config.js';
import { type RunningServer, startServer } from '../main.js';

// A real server on 127.0.0.1; loopback has every 127.x address, so a client bound to another one is
// another client address. Budgets: 20 failures per address, 40 per key id, per hour (so that none
// drains back while the test runs).

let home: string;
let server: RunningServer;
let admin: string;
const agent = new Agent({ keepAlive: true });

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'hangar-authlimit-'));
  const limits = { auth_failures: { per_address: 20, per_key: 40, window_s: 3600 } };
  writeFileSync(join(home, CONFIG_FILE), JSON.stringify({ limits }));
  server = await startServer(loadConfig({ port: '0', home }, { HANGAR_LOG_LEVEL: 'silent' }, home));
  admin = server.adminKey!;
});
afterAll(async () => {
  agent.destroy();
  await server?.shutdown();
  rmSync(home, { recursive: true, force: true });
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  code: string | undefined;
  body: { error?: { type: string; code: string; message: string } } & Record<string, unknown>;
}

/** One call from client address `from`, with `key` as `Key <key>` when given. */
function call(
  path: string,
  opts: {
    key?: string;
    from?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers['authorization'] = `Key ${opts.key}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const req = request(
      `${server.url}${path}`,
      { method: opts.method ?? 'GET', headers, agent, localAddress: opts.from ?? '127.0.0.1' },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          // A stream that was let through is proof enough; nothing more is read from it.
          if (res.headers['content-type'] === 'text/event-stream') res.destroy();
        });
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] as string | undefined,
            code: res.headers['x-hangar-error-code'] as string | undefined,
            body: text.startsWith('{') ? JSON.parse(text) : { text },
          });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function wrong(key: string): string {
  const [id, secret] = key.split(':') as [string, string];
  return `${id}:${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`;
}

describe('failed authentication over HTTP', () => {
  it('answers 429 with Retry-After to 1,100 wrong secrets, and still admits the key from elsewhere', async () => {
    // Verified and cached first, so the gateway's fast lane would take it from here on.
    expect((await call('/run/demo/nope', { key: admin })).status).toBe(404);
    const statuses = new Map<number, number>();
    let retryAfter: string | undefined;
    // One at a time until the budget is spent (concurrent attempts may all pass the check before the
    // first of them fails), then ten at a time.
    for (let i = 0; i < 1100; ) {
      const n = i < 30 ? 1 : 10;
      i += n;
      const batch = Array.from({ length: n }, () => call('/v1/keys', { key: wrong(admin) }));
      for (const a of await Promise.all(batch)) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        if (a.status === 429) {
          retryAfter = a.retryAfter;
          expect(a.body.error).toMatchObject({ type: 'rate_limited', code: 'AUTH_RATE_LIMITED' });
        }
      }
    }
    expect(statuses.get(401)).toBe(20);
    expect(statuses.get(429)).toBe(1080);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);

    // The right secret from the throttled address is refused too, on every path that takes a key.
    const proxied = { 'x-fal-target-url': 'https://rest.fal.ai/v1/keys' };
    // A WebSocket handshake (realtime) authenticates through the same throttle.
    const upgrade = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    };
    const paths: [string, Parameters<typeof call>[1]][] = [
      ['/v1/keys', {}],
      ['/run/demo/nope', {}],
      ['/queue/demo/nope/requests/00000000-0000-0000-0000-000000000000/status/stream', {}],
      ['/v1/serverless/logs/stream', { method: 'POST', body: '[]' }],
      ['/fal/proxy', { headers: proxied }],
      ['/run/demo/nope', { headers: upgrade }],
    ];
    for (const [path, opts] of paths) {
      const a = await call(path, { ...opts, key: admin });
      // The Platform API's envelope names the code; the gateway's fal shape sends it as a header.
      expect({ path, status: a.status, code: a.body.error?.code ?? a.code }).toEqual({
        path,
        status: 429,
        code: 'AUTH_RATE_LIMITED',
      });
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // A call without a key is not an authentication attempt.
    expect((await call('/v1/openapi.json')).status).toBe(200);

    // Another client address is not affected, on the routes and on the fast lane.
    expect((await call('/v1/keys', { key: admin, from: '127.0.0.2' })).status).toBe(200);
    expect((await call('/run/demo/nope', { key: admin, from: '127.0.0.2' })).status).toBe(404);
    expect((await call('/fal/proxy', { key: admin, from: '127.0.0.2', headers: proxied })).status).toBe(200);
  });

  it('refuses a key id under a distributed attack to the attacking addresses only', async () => {
    const created = await call('/v1/keys', {
      key: admin,
      from: '127.0.0.2',
      method: 'POST',
      body: JSON.stringify({ scope: 'API', name: 'victim' }),
    });
    expect(created.status).toBe(201);
    const made = String(created.body['key']);

    // 40 addresses fail once each: the key id's budget is spent, no address's is.
    for (let i = 10; i < 50; i++) {
      expect((await call('/v1/serverless/usage', { key: wrong(made), from: `127.0.1.${i}` })).status).toBe(
        401,
      );
    }
    const again = await call('/v1/serverless/usage', { key: wrong(made), from: '127.0.1.10' });
    expect(again).toMatchObject({ status: 429, body: { error: { code: 'AUTH_RATE_LIMITED' } } });
    // An attacking address learns nothing from the right secret either.
    expect((await call('/run/demo/nope', { key: made, from: '127.0.1.11' })).status).toBe(429);
    // The owner's clients, which did not fail, still get in; a first wrong guess from a new address is a 401.
    expect((await call('/run/demo/nope', { key: made, from: '127.0.1.200' })).status).toBe(404);
    expect((await call('/run/demo/nope', { key: wrong(made), from: '127.0.1.201' })).status).toBe(401);
    expect((await call('/run/demo/nope', { key: made, from: '127.0.1.201' })).status).toBe(429);
  });
});
