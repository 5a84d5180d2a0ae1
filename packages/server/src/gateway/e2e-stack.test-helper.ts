import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUNDLE_LIMITS, type IdSource, type Stores, systemClock, uuidIds } from '@hangar/core';
import { createDiskFileStore } from '../adapters/disk/file-store.js';
import { createBundleStore } from '../bundles/bundle-store.js';
import { DEFAULT_MACHINE_TYPES } from '../config.js';
import { createHttpApp, type HttpApp } from '../http/app.js';
import { type Authenticator, createAuthenticator } from '../http/auth.js';
import { createStreamSlots } from '../http/stream-slots.js';
import { createLogBus } from '../runners/log-bus.js';
import { createProcessRunnerDriver } from '../runners/process-driver.js';
import { createSupervisor, type Supervisor } from '../runners/supervisor.js';
import { createDeployService } from '../services/deploy.js';
import { MemoryWebhookOutbox } from '../store/memory/webhook-outbox.js';
import { createSqliteStores } from '../store/sqlite/index.js';
import { createGateway, type Gateway, registerGatewayRoutes } from './gateway.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The gateway's whole stack on real parts: SQLite, a supervisor with real runner processes, the HTTP app on a socket. */
export interface GatewayStack {
  dir: string;
  stores: Stores;
  supervisor: Supervisor;
  gateway: Gateway;
  http: HttpApp;
  authenticator: Authenticator;
  /** `http://127.0.0.1:<port>` once listening. */
  base: string;
  /** Deploys an app folder into `owner` the operator's way (packed into a bundle, stored, unpacked). */
  deployDir(owner: string, dir: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of `openGatewayStack`. */
export interface GatewayStackOptions {
  /** Temp directory prefix. */
  prefix: string;
  jsonCap?: number;
  ids?: IdSource;
  /** Per-key stream slots (default 10). */
  maxStreams?: number;
  /** Adds routes or hooks before the app listens (storage, realtime, counters). */
  register?: (
    stack: Omit<GatewayStack, 'base' | 'deployDir' | 'close'> & { base: () => string },
  ) => void | Promise<void>;
}

/** Opens the stack the gateway's end-to-end tests share; `close()` tears it down. */
export async function openGatewayStack(opts: GatewayStackOptions): Promise<GatewayStack> {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const jsonCap = opts.jsonCap ?? 64 * 1024;
  const stores = createSqliteStores({ path: join(dir, 'hangar.db'), jsonCap });
  const logBus = createLogBus();
  const supervisor = createSupervisor({
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
  const authenticator = createAuthenticator(stores.keys);
  const http = createHttpApp({ logger: false, authenticator, bodyLimit: 1 << 20 });
  let base = '';
  const gateway = createGateway({
    dispatcher: supervisor,
    requests: stores.requests,
    logs: stores.logs,
    logBus,
    apps: stores.apps,
    clock: systemClock,
    ids: opts.ids ?? uuidIds,
    publicUrl: () => base,
    resultTtlMs: 3_600_000,
    jsonCap,
    jsonInput: { maxDepth: 64, maxItems: 100_000, maxStringBytes: 1024 * 1024 },
    webhook: { outbox: new MemoryWebhookOutbox(), allowPrivate: false, allowlist: [], maxAttempts: 3 },
    logger: silent,
    streams: createStreamSlots(opts.maxStreams ?? 10),
  });
  registerGatewayRoutes(http, gateway);
  await opts.register?.({ dir, stores, supervisor, gateway, http, authenticator, base: () => base });
  base = await http.listen({ host: '127.0.0.1', port: 0 });
  const deployer = createDeployService({
    bundles: createBundleStore({
      root: join(dir, 'bundles'),
      objects: createDiskFileStore(join(dir, 'storage')),
      limits: DEFAULT_BUNDLE_LIMITS,
      apps: stores.apps,
      clock: systemClock,
    }),
    apps: stores.apps,
    events: stores.events,
    keys: stores.keys,
    machineTypes: DEFAULT_MACHINE_TYPES,
    clock: systemClock,
    ids: uuidIds,
    onRevision: (app, rev) => supervisor.deploy(app, rev),
  });
  return {
    dir,
    stores,
    supervisor,
    gateway,
    http,
    authenticator,
    base,
    async deployDir(owner, appDir) {
      await deployer.deployDir({ owner, dir: appDir, deployedBy: null });
    },
    async close() {
      await supervisor.close(2000);
      await gateway.close();
      await http.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
