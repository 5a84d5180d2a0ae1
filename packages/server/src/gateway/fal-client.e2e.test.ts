import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, createFalClient, fal } from '@fal-ai/client';
import { DEFAULT_BUNDLE_LIMITS, type Stores, systemClock, uuidIds } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBundleStore } from '../bundles/bundle-store.js';
import { DEFAULT_MACHINE_TYPES } from '../config.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator } from '../http/auth.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { createLogBus } from '../runners/log-bus.js';
import { createProcessRunnerDriver } from '../runners/process-driver.js';
import { createSupervisor, type Supervisor } from '../runners/supervisor.js';
import { createDeployService } from '../services/deploy.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';
import { createTestKey } from './test-server.js';

const ECHO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/echo-node');
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let dir: string;
let stores: Stores;
let supervisor: Supervisor;
let gateway: Gateway;
let http: HttpApp;
let base: string;
let key: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-fal-e2e-'));
  stores = createSqliteStores({ path: join(dir, 'hangar.db') });
  const logBus = createLogBus();
  supervisor = createSupervisor({
    driver: createProcessRunnerDriver(),
    stores,
    logBus,
    machineTypes: DEFAULT_MACHINE_TYPES,
    dataRoot: (owner) => {
      const root = join(dir, 'data', owner);
      mkdirSync(root, { recursive: true });
      return root;
    },
    clock: systemClock,
    ids: uuidIds,
    logger: silent,
  });
  http = createHttpApp({
    logger: false,
    authenticator: createAuthenticator(stores.keys),
    bodyLimit: 1 << 20,
  });
  gateway = createGateway({
    dispatcher: supervisor,
    requests: stores.requests,
    logs: stores.logs,
    logBus,
    apps: stores.apps,
    clock: systemClock,
    ids: uuidIds,
    publicUrl: () => base,
    resultTtlMs: 3_600_000,
    jsonCap: 64 * 1024,
    jsonInput: { maxDepth: 64, maxItems: 100_000, maxStringBytes: 1024 * 1024 },
    webhook: { allowPrivate: false, allowlist: [], maxAttempts: 3 },
    logger: silent,
    streams: createStreamSlots(10),
  });
  registerGatewayRoutes(http, gateway);
  base = await http.listen({ host: '127.0.0.1', port: 0 });
  key = await createTestKey(stores.keys, 'alice');
  const bundles = createBundleStore({
    root: join(dir, 'bundles'),
    limits: DEFAULT_BUNDLE_LIMITS,
    apps: stores.apps,
    clock: systemClock,
  });
  const deployer = createDeployService({
    bundles,
    apps: stores.apps,
    events: stores.events,
    keys: stores.keys,
    machineTypes: DEFAULT_MACHINE_TYPES,
    clock: systemClock,
    ids: uuidIds,
    onRevision: (app, rev) => supervisor.deploy(app, rev),
  });
  await deployer.deployDir({ owner: 'alice', dir: ECHO_DIR, deployedBy: null });
});

afterAll(async () => {
  await supervisor?.close(2000);
  await gateway?.close();
  await http?.close();
  await stores?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Client = ReturnType<typeof createFalClient>;

const clients: [string, () => Client][] = [
  [
    'proxyUrl when always',
    () => {
      fal.config({ credentials: key, proxyUrl: { url: `${base}/fal/proxy`, when: 'always' } });
      return fal as unknown as Client;
    },
  ],
  [
    'requestMiddleware rewrite',
    () =>
      createFalClient({
        credentials: key,
        requestMiddleware: async (req) => ({
          ...req,
          url: req.url
            .replace(/^https:\/\/queue\.fal\.run\//, `${base}/queue/`)
            .replace(/^https:\/\/fal\.run\//, `${base}/run/`),
        }),
      }),
  ],
];

describe.each(clients)('@fal-ai/client via %s', (_name, make) => {
  let client: Client;
  beforeAll(() => {
    client = make();
  });

  it('fal.subscribe polls with logs and onQueueUpdate, then returns the result', async () => {
    const updates: { status: string; logs?: { message: string }[] }[] = [];
    const result = await client.subscribe('alice/echo/slow', {
      input: { sleep_ms: 700, tag: 'sub' },
      logs: true,
      pollInterval: 100,
      onQueueUpdate: (u) => updates.push(u as (typeof updates)[number]),
    });
    expect(result.data).toMatchObject({ echo: { sleep_ms: 700, tag: 'sub' } });
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    const messages = updates.flatMap((u) => u.logs ?? []).map((l) => l.message);
    expect(messages.some((m) => m.startsWith('progress'))).toBe(true);
  });

  it('fal.subscribe in streaming mode accumulates logs from the status stream', async () => {
    const updates: { status: string; logs?: { message: string }[] }[] = [];
    const result = await client.subscribe('alice/echo/slow', {
      input: { sleep_ms: 500 },
      logs: true,
      mode: 'streaming',
      onQueueUpdate: (u) => updates.push(u as (typeof updates)[number]),
    });
    expect(result.data).toMatchObject({ echo: { sleep_ms: 500 } });
    expect(updates.at(-1)?.status).toBe('COMPLETED');
    expect((updates.at(-1)?.logs ?? []).some((l) => l.message.startsWith('progress'))).toBe(true);
  });

  it('fal.queue.submit, status, streamStatus and result', async () => {
    const sub = await client.queue.submit('alice/echo', { input: { sleep_ms: 300, n: 1 } });
    expect(sub).toMatchObject({ status: 'IN_QUEUE', request_id: expect.any(String) });
    expect(sub.status_url).toBe(`${base}/queue/alice/echo/requests/${sub.request_id}/status`);
    const status = await client.queue.status('alice/echo', { requestId: sub.request_id, logs: true });
    expect(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']).toContain(status.status);
    const stream = await client.queue.streamStatus('alice/echo', { requestId: sub.request_id, logs: true });
    const seen: string[] = [];
    stream.on('data', (d: { status: string }) => seen.push(d.status));
    const last = (await stream.done()) as { status: string };
    expect(last.status).toBe('COMPLETED');
    expect(seen.at(-1)).toBe('COMPLETED');
    const result = await client.queue.result('alice/echo', { requestId: sub.request_id });
    expect(result).toEqual({
      data: expect.objectContaining({ echo: { sleep_ms: 300, n: 1 } }),
      requestId: sub.request_id,
    });
  });

  it('fal.queue.cancel stops a running request; cancelling a finished one is refused', async () => {
    const sub = await client.queue.submit('alice/echo', { input: { sleep_ms: 20_000 } });
    await expect
      .poll(async () => (await client.queue.status('alice/echo', { requestId: sub.request_id })).status)
      .toBe('IN_PROGRESS');
    await client.queue.cancel('alice/echo', { requestId: sub.request_id });
    await expect
      .poll(async () => (await client.queue.status('alice/echo', { requestId: sub.request_id })).status)
      .toBe('COMPLETED');
    const err = await client.queue
      .cancel('alice/echo', { requestId: sub.request_id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<unknown>).status).toBe(400);
    expect((err as ApiError<unknown>).body).toEqual({ status: 'ALREADY_COMPLETED' });
  });

  it('fal.run answers synchronously with the request id', async () => {
    const res = await client.run('alice/echo', { input: { hello: 'run' } });
    expect(res.data).toMatchObject({ echo: { hello: 'run' } });
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('surfaces gateway errors as ApiError with the fal envelope', async () => {
    const err = await client.run('alice/missing', { input: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError<{ error: { code: string } }>).status).toBe(404);
    expect((err as ApiError<{ error: { code: string } }>).body.error.code).toBe('APP_NOT_FOUND');
  });
});
