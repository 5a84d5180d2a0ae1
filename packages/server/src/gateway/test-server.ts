import { randomUUID } from 'node:crypto';
import {
  type AppManifest,
  type AppStore,
  type Dispatcher,
  type JsonInputLimits,
  type KeyStore,
  type LogBus,
  type RequestStatusFeed,
  type Stores,
  systemClock,
  uuidIds,
} from '@hangar/core';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { createAuthenticator, hashSecret } from '../http/auth.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import type { WebhookOptions } from './deps.js';
import { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';

/** Options of a test gateway server. */
export interface TestServerOptions {
  stores: Stores;
  dispatcher: Dispatcher;
  logBus: LogBus;
  bodyLimit?: number;
  webhook?: Partial<WebhookOptions>;
  resultTtlMs?: number;
  /** Open streams per key (default 10, as configured by default). */
  maxStreamsPerKey?: number;
  jsonInput?: JsonInputLimits;
  /** A cluster node's status feed (status streams of requests running on another node). */
  statusFeed?: RequestStatusFeed;
}

/** A gateway on a real 127.0.0.1 socket. */
export interface TestServer {
  url: string;
  app: HttpApp;
  gateway: Gateway;
  close(): Promise<void>;
}

/** Starts `createHttpApp` + the gateway routes on a free port (no logging). */
export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;
  const app = createHttpApp({
    logger: false,
    authenticator: createAuthenticator(opts.stores.keys),
    bodyLimit,
  });
  let url = 'http://127.0.0.1:0';
  const gateway = createGateway({
    dispatcher: opts.dispatcher,
    requests: opts.stores.requests,
    logs: opts.stores.logs,
    logBus: opts.logBus,
    apps: opts.stores.apps,
    clock: systemClock,
    ids: uuidIds,
    publicUrl: () => url,
    resultTtlMs: opts.resultTtlMs ?? 3_600_000,
    jsonCap: 64 * 1024,
    jsonInput: opts.jsonInput ?? { maxDepth: 64, maxItems: 100_000, maxStringBytes: bodyLimit },
    webhook: {
      outbox: new MemoryWebhookOutbox(),
      allowPrivate: false,
      allowlist: [],
      maxAttempts: 3,
      retryBaseMs: 20,
      ...opts.webhook,
    },
    logger: { warn: () => undefined, error: () => undefined },
    streams: createStreamSlots(opts.maxStreamsPerKey ?? 10),
    ...(opts.statusFeed ? { statusFeed: opts.statusFeed } : {}),
  });
  registerGatewayRoutes(app, gateway);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    gateway,
    async close() {
      await gateway.close();
      await app.close();
    },
  };
}

/** Creates an API key for `owner` and returns it as `key_id:secret`. */
export async function createTestKey(keys: KeyStore, owner: string): Promise<string> {
  const keyId = randomUUID();
  const secret = randomUUID();
  await keys.ensureOwner(owner);
  await keys.insertKey(
    { keyId, owner, scope: 'API', name: null, createdAt: Date.now(), revokedAt: null },
    hashSecret(secret),
  );
  return `${keyId}:${secret}`;
}

/** Deploys a test app record (no runner is started: the dispatcher serves it). */
export async function putTestApp(
  apps: AppStore,
  owner: string,
  name: string,
  manifest: Partial<AppManifest> = {},
): Promise<void> {
  const full: AppManifest = {
    name,
    command: ['node', 'app.js'],
    machine_type: 'CPU',
    environment: 'main',
    auth_mode: 'private',
    keep_alive: 10,
    min_concurrency: 0,
    max_concurrency: 1,
    max_multiplexing: 1,
    request_timeout: 30,
    startup_timeout: 30,
    health_path: '/health',
    routes: ['/', '/turbo'],
    env: {},
    ...manifest,
  };
  await apps.putRevision({
    revisionId: randomUUID(),
    owner,
    app: name,
    createdAt: Date.now(),
    message: null,
    annotations: null,
    status: 'deployed',
    deployedBy: null,
    manifest: full,
    bundle: null,
    dir: '/nonexistent',
  });
}
