import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stores, systemClock, uuidIds } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, registerGatewayRoutes } from '../../gateway/gateway.js';
import { InlineDispatcher } from '../../gateway/test-kit.js';
import { createTestKey, putTestApp } from '../../gateway/test-server.js';
import { createHttpApp, type HttpApp } from '../../http/app.js';
import { createAuthenticator } from '../../http/auth.js';
import { createStreamSlots } from '../../http/stream-slots.js';
import { createLogBus } from '../../runners/log-bus.js';
import { MemoryWebhookOutbox } from '../../store/memory/webhook-outbox.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import {
  createSqliteReads,
  type QueryWorkerFailure,
  type SqliteReads,
} from '../../store/sqlite/reads/index.js';
import { registerRequestsRoutes } from './routes.js';

// The whole path of issue 8's hanging listing, on real parts: a JSON input nested 10,000 deep goes through
// the gateway's write path into SQLite (with the submit limits opened up, as for rows stored before they
// existed), an app answers it with the same JSON, and the requests listing is read over a socket from a
// worker-thread query pool.

const DEEP = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;

let dir: string;
let stores: Stores;
let app: HttpApp;
let gateway: Gateway;
let dispatcher: InlineDispatcher;
let mirror: Server;
let pool: SqliteReads;
let url: string;
let key: string;
const failures: QueryWorkerFailure[] = [];

/** An app that answers every call with its body, untouched (it never parses it). */
async function startMirrorApp(): Promise<string> {
  mirror = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-payloads-'));
  const dbPath = join(dir, 'hangar.db');
  stores = createSqliteStores({ path: dbPath });
  const logBus = createLogBus();
  dispatcher = new InlineDispatcher(await startMirrorApp(), { concurrency: 2 });
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
    jsonInput: { maxDepth: 1_000_000, maxItems: 1_000_000, maxStringBytes: 1 << 20 },
    webhook: {
      outbox: new MemoryWebhookOutbox(),
      allowPrivate: false,
      allowlist: [],
      maxAttempts: 1,
      retryBaseMs: 20,
    },
    logger: { warn: () => undefined, error: () => undefined },
    streams: createStreamSlots(10),
  });
  registerGatewayRoutes(app, gateway);
  pool = createSqliteReads({
    dbPath,
    size: 1,
    modules: [
      new URL('../../store/sqlite/reads/registry.ts', import.meta.url),
      new URL('../../store/sqlite/reads/crashing-listing.test-helper.ts', import.meta.url),
    ],
    onWorkerFailure: (f) => failures.push(f),
  });
  const apps = (owner: string, name: string) => stores.apps.getApp(owner, name);
  registerRequestsRoutes(app, { reads: pool, apps, clock: systemClock, maxRangeDays: 90 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  key = `Key ${await createTestKey(stores.keys, 'alice')}`;
  await putTestApp(stores.apps, 'alice', 'mirror');
});

afterAll(async () => {
  await gateway.close();
  await app.close();
  await pool.pool.close();
  await dispatcher.close();
  await new Promise<void>((resolve) => mirror.close(() => resolve()));
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

function listing(query = ''): Promise<Response> {
  return fetch(`${url}/v1/serverless/requests/by-endpoint?endpoint_id=alice/mirror${query}`, {
    headers: { authorization: key },
  });
}

describe('requests listing with payloads nested 10,000 deep', () => {
  it('lists the stored input and output as they were sent', async () => {
    const run = await fetch(`${url}/run/alice/mirror`, {
      method: 'POST',
      headers: { authorization: key, 'content-type': 'application/json' },
      body: DEEP,
    });
    expect(run.status).toBe(200);
    expect(await run.text()).toBe(DEEP);
    const requestId = run.headers.get('x-fal-request-id');
    await stores.flush();

    const res = await listing('&expand=payloads');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await res.text();
    expect(text).toContain(`"json_input":${DEEP},"json_output":${DEEP}`);
    // The body is one JSON document (V8's parser does not recurse, so the test can read it whole).
    const body = JSON.parse(text) as { items: { request_id: string }[]; has_more: boolean };
    expect(body.items.map((i) => i.request_id)).toEqual([requestId]);
    expect(body.has_more).toBe(false);
    expect(failures).toEqual([]);
  });

  it('answers 500 QUERY_WORKER_FAILED when the worker dies mid-call, then serves the next call', async () => {
    const res = await listing('&limit=13');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: {
        type: 'server_error',
        code: 'QUERY_WORKER_FAILED',
        message: 'The query could not be completed; retry the request',
      },
    });
    expect(failures).toEqual([{ reason: 'exited with code 3', failedCalls: 1, cause: undefined }]);
    const next = await listing('&expand=payloads');
    expect(next.status).toBe(200);
    expect(await next.text()).toContain(`"json_input":${DEEP}`);
  });
});
