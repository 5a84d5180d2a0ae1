import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stores, systemClock, uuidIds } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testQueryPool } from '../api/apps/testing/harness.test-helper.js';
import { registerLogsRoutes } from '../api/logs/routes.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { createLogBus } from '../runners/log-bus.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';
import { type EchoApp, InlineDispatcher, startEchoApp } from './test-kit.js';
import { createTestKey, putTestApp } from './test-server.js';

// Queue status streams and log streams over real sockets, sharing one per-key cap of 10 as in
// production. The dispatcher is paused, so queued requests stay live and their streams stay open.

const MAX = 10;
let dir: string;
let stores: Stores;
let echo: EchoApp;
let dispatcher: InlineDispatcher;
let pool: ReturnType<typeof testQueryPool>;
let app: HttpApp;
let gateway: Gateway;
let url: string;
let aliceKey: string;
let bobKey: string;
/** For answers read to their end: one socket reused. */
const agent = new Agent({ keepAlive: true });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-stream-cap-'));
  const path = join(dir, 'hangar.db');
  stores = createSqliteStores({ path });
  echo = await startEchoApp();
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(echo.url, { concurrency: 1, logBus, logs: stores.logs });
  dispatcher.pause();
  pool = testQueryPool(path, 0);
  const streams = createStreamSlots(MAX);
  app = createHttpApp({ logger: false, authenticator: createAuthenticator(stores.keys), bodyLimit: 1 << 20 });
  gateway = createGateway({
    dispatcher,
    requests: stores.requests,
    logs: stores.logs,
    logBus,
    apps: stores.apps,
    clock: systemClock,
    ids: uuidIds,
    publicUrl: () => url,
    resultTtlMs: 3_600_000,
    jsonCap: 64 * 1024,
    jsonInput: { maxDepth: 64, maxItems: 100_000, maxStringBytes: 1 << 20 },
    webhook: { outbox: new MemoryWebhookOutbox(), allowPrivate: false, allowlist: [], maxAttempts: 1 },
    logger: { warn: () => undefined, error: () => undefined },
    streams,
  });
  registerGatewayRoutes(app, gateway);
  registerLogsRoutes(app, { reads: pool.logs, bus: logBus, flushLogs: () => stores.flush(), streams });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  aliceKey = await createTestKey(stores.keys, 'alice');
  bobKey = await createTestKey(stores.keys, 'bob');
  await putTestApp(stores.apps, 'alice', 'echo', { auth_mode: 'shared' });
  await putTestApp(stores.apps, 'alice', 'open', { auth_mode: 'public' });
});

afterAll(async () => {
  agent.destroy();
  await gateway.close();
  await app.close();
  await pool.close();
  dispatcher.resume();
  await dispatcher.close();
  await echo.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  status: number;
  type: string | undefined;
  /** The whole body of an answer that ended (a refusal); '' for a stream left open. */
  body: string;
  close(): Promise<void>;
}

/** Opens a stream on its own socket; resolves on the first bytes of a stream, or the end of any other answer. */
function open(
  method: 'GET' | 'POST',
  path: string,
  opts: { key?: string; from?: string; shared?: boolean } = {},
): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.key) headers['authorization'] = `Key ${opts.key}`;
    if (method === 'POST') headers['content-type'] = 'application/json';
    const req = request(`${url}${path}`, {
      method,
      headers,
      agent: opts.shared ? agent : false,
      localAddress: opts.from ?? '127.0.0.1',
    });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const socket = res.socket;
      const close = async () => {
        if (socket.destroyed) return;
        const closed = new Promise<void>((r) => socket.once('close', () => r()));
        res.destroy();
        await closed;
      };
      const answer = (body: string) =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body, close });
      if (res.headers['content-type'] === 'text/event-stream') {
        res.once('data', () => answer(''));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => answer(body));
    });
    req.end(method === 'POST' ? '[]' : undefined);
  });
}

async function queued(key: string | null, appName = 'echo'): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers['authorization'] = `Key ${key}`;
  const res = await fetch(`${url}/queue/alice/${appName}`, { method: 'POST', headers, body: '{}' });
  expect(res.status).toBe(200);
  return `/queue/alice/${appName}/requests/${((await res.json()) as { request_id: string }).request_id}/status/stream`;
}

/** Retries `attempt` until the server has seen an earlier disconnect and freed its slot. */
async function eventually(attempt: () => Promise<Opened>): Promise<Opened> {
  let last = await attempt();
  for (let i = 0; i < 100 && last.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 10));
    last = await attempt();
  }
  return last;
}

/** A status stream over the cap: fal's gateway shape (the log stream keeps the Platform API's envelope). */
const LIMITED = { detail: expect.any(String), error_type: 'rate_limited' };

describe('the per-key stream cap', () => {
  it("lets one key hold 10 of 1,000 status streams and answers the rest 429 in fal's gateway shape", async () => {
    const stream = await queued(aliceKey);
    const held: Opened[] = [];
    for (let i = 0; i < MAX; i++) held.push(await open('GET', stream, { key: aliceKey }));
    expect(held.map((h) => h.status)).toEqual(new Array(MAX).fill(200));
    const refused = new Map<number, number>();
    for (let i = MAX; i < 1000; i++) {
      const over = await open('GET', stream, { key: aliceKey, shared: true });
      refused.set(over.status, (refused.get(over.status) ?? 0) + 1);
      if (i === MAX) {
        expect(over.type).toMatch(/^application\/json/);
        expect(JSON.parse(over.body)).toEqual(LIMITED);
      }
    }
    expect([...refused]).toEqual([[429, 1000 - MAX]]);

    // Another key has its own slots; a closed stream gives its slot back.
    const other = await queued(bobKey);
    const bobs = await open('GET', other, { key: bobKey });
    expect(bobs.status).toBe(200);
    await held.pop()!.close();
    const again = await eventually(() => open('GET', stream, { key: aliceKey }));
    expect(again.status).toBe(200);
    for (const h of [...held, again, bobs]) await h.close();
  });

  it('counts log streams and status streams in the same cap', async () => {
    const stream = await queued(aliceKey);
    const held: Opened[] = [];
    for (let i = 0; i < MAX / 2; i++)
      held.push(await eventually(() => open('GET', stream, { key: aliceKey })));
    for (let i = 0; i < MAX / 2; i++)
      held.push(await eventually(() => open('POST', '/v1/serverless/logs/stream', { key: aliceKey })));
    expect(held.map((h) => h.status)).toEqual(new Array(MAX).fill(200));

    const status = await open('GET', stream, { key: aliceKey });
    expect(status.status).toBe(429);
    expect(JSON.parse(status.body)).toEqual(LIMITED);
    // A log stream is refused the same way, before it starts (fal lists 429 for it), in the Platform
    // API's envelope.
    const logs = await open('POST', '/v1/serverless/logs/stream', { key: aliceKey });
    expect(logs.status).toBe(429);
    expect(JSON.parse(logs.body)).toMatchObject({
      error: { type: 'rate_limited', code: 'LOGS_STREAM_LIMIT' },
    });

    // A status stream closed frees a slot a log stream can take.
    await held[0]!.close();
    const log = await eventually(() => open('POST', '/v1/serverless/logs/stream', { key: aliceKey }));
    expect(log.status).toBe(200);
    expect(log.type).toBe('text/event-stream');
    expect((await open('GET', stream, { key: aliceKey })).status).toBe(429);
    for (const h of [...held.slice(1), log]) await h.close();
  });

  it('caps anonymous status streams of a public app per client address', async () => {
    const stream = await queued(null, 'open');
    const held: Opened[] = [];
    for (let i = 0; i < MAX; i++) held.push(await eventually(() => open('GET', stream)));
    expect(held.map((h) => h.status)).toEqual(new Array(MAX).fill(200));
    const over = await open('GET', stream);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toEqual(LIMITED);
    const elsewhere = await open('GET', stream, { from: '127.0.0.2' });
    expect(elsewhere.status).toBe(200);
    for (const h of [...held, elsewhere]) await h.close();
  });
});
