import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorClass, MachineType, MeterRecord, PlatformReads, Stores } from '@hangar/core';
import type Database from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { createHttpApp, type HttpApp } from '../../http/app.js';
import { createAuthenticator, hashSecret } from '../../http/auth.js';
import { revisionFixture } from '../../store/fixtures.js';
import { createSqliteStores } from '../../store/sqlite/index.js';
import { openDatabase } from '../../store/sqlite/open.js';
import { registerRequestsRoutes } from '../requests/routes.js';
import { type ReadsBackend, sqliteBackend } from '../testing/backends.test-helper.js';
import { registerUsageRoutes } from '../usage/routes.js';
import { registerAnalyticsRoutes } from './routes.js';

// A real server slice for the requests, usage and analytics tests: SQLite stores in a temp dir, real keys,
// the three routes on createHttpApp, and a second read-write connection for seeding rows with SQL.

/** Owners and apps every harness starts with: alice/img has a `/turbo` route. */
export const APPS = [
  { owner: 'alice', name: 'img', routes: ['/', '/turbo'] },
  { owner: 'alice', name: 'txt', routes: ['/'] },
  { owner: 'bob', name: 'vid', routes: ['/'] },
] as const;

export const MACHINE_TYPES: Record<string, MachineType> = {
  'GPU-H100': { unitPrice: 0.001, gpuLabel: 'NVIDIA H100', reservedRunners: 1, surgeMultiplier: 1.5 },
  CPU: { unitPrice: 0.00002, gpuLabel: 'CPU', reservedRunners: 10, surgeMultiplier: 1 },
};

export interface HarnessOptions {
  now?: number;
  /** 0 (default) runs queries inline; more starts worker threads. */
  poolSize?: number;
  discounts?: Record<string, number>;
  maxRangeDays?: number;
  /** What the usage route merges as running runners' unmetered time (none by default). */
  liveMeter?: (owner: string, now: number) => MeterRecord[];
  /** Which engine the routes read from (default SQLite); seeding is always into the SQLite file. */
  backend?: ReadsBackend;
}

export interface Harness {
  app: HttpApp;
  /** Read-write connection for seeding. */
  db: Database.Database;
  dbPath: string;
  stores: Stores;
  reads: PlatformReads;
  /** Authorization header values. */
  keys: { adminA: string; apiA: string; adminB: string; apiB: string };
  /** The injected clock; tests may move it. */
  clock: { now: number };
  get(url: string, key?: string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

async function addKey(stores: Stores, owner: string, scope: 'API' | 'ADMIN'): Promise<string> {
  const keyId = randomUUID();
  const secret = randomUUID();
  await stores.keys.insertKey(
    { keyId, owner, scope, name: null, createdAt: 0, revokedAt: null },
    hashSecret(secret),
  );
  return `Key ${keyId}:${secret}`;
}

/** Opens a harness with the three operations registered. */
export async function openHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-queries-'));
  const dbPath = join(dir, 'hangar.db');
  const stores = createSqliteStores({ path: dbPath });
  for (const [i, a] of APPS.entries()) {
    const rev = revisionFixture(`rev-${i}`, a.owner, a.name, 1000 + i);
    await stores.apps.putRevision({ ...rev, manifest: { ...rev.manifest, routes: [...a.routes] } });
  }
  const keys = {
    adminA: await addKey(stores, 'alice', 'ADMIN'),
    apiA: await addKey(stores, 'alice', 'API'),
    adminB: await addKey(stores, 'bob', 'ADMIN'),
    apiB: await addKey(stores, 'bob', 'API'),
  };
  await stores.flush();
  const db = openDatabase(dbPath);
  const backend = await (opts.backend ?? sqliteBackend).open(dbPath, opts.poolSize ?? 0);
  const reads = backend.reads;
  const clock = { now: opts.now ?? Date.UTC(2025, 0, 15, 12) };
  const app = createHttpApp({
    logger: false,
    authenticator: createAuthenticator(stores.keys),
    bodyLimit: 1 << 20,
  });
  const maxRangeDays = opts.maxRangeDays ?? 400;
  const apps = (owner: string, name: string) => stores.apps.getApp(owner, name);
  registerRequestsRoutes(app, { reads, apps, clock: () => clock.now, maxRangeDays });
  registerAnalyticsRoutes(app, { reads, apps, clock: () => clock.now, maxRangeDays });
  registerUsageRoutes(app, {
    reads,
    clock: () => clock.now,
    maxRangeDays,
    machineTypes: MACHINE_TYPES,
    discounts: opts.discounts ?? {},
    ...(opts.liveMeter ? { liveMeter: opts.liveMeter } : {}),
  });
  await app.ready();
  return {
    app,
    db,
    dbPath,
    stores,
    reads,
    keys,
    clock,
    async get(url, key = keys.apiA) {
      await stores.flush();
      await backend.sync();
      return app.inject({ method: 'GET', url, headers: { authorization: key } });
    },
    async close() {
      await app.close();
      await backend.close();
      db.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A request row to seed; owner and app come from the endpoint id. */
export interface SeedRequest {
  id?: string;
  endpoint: string;
  sentAt: number;
  startedAt?: number | null;
  endedAt?: number | null;
  statusCode?: number | null;
  prepareMs?: number | null;
  durationMs?: number | null;
  runnerId?: string | null;
  coldStart?: boolean;
  coldBootMs?: number | null;
  errorClass?: ErrorClass | null;
  billableUnits?: number | null;
  input?: unknown;
  output?: unknown;
}

/** Inserts requests with SQL, the columns the store writes; returns their ids. */
export function insertRequests(db: Database.Database, rows: readonly SeedRequest[]): string[] {
  const stmt = db.prepare(
    `INSERT INTO requests (request_id, owner, app, endpoint_id, method, mode, status, sent_at, started_at, ended_at,
       status_code, prepare_ms, duration_ms, runner_id, cold_start, cold_boot_ms, billable_units, error_class,
       json_input, json_output)
     VALUES (?, ?, ?, ?, 'POST', 'queue', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const ids: string[] = [];
  db.transaction(() => {
    for (const r of rows) {
      const [owner, app] = r.endpoint.split('/');
      const id = r.id ?? randomUUID();
      const ended = r.endedAt ?? null;
      stmt.run(
        id,
        owner,
        app,
        r.endpoint,
        ended === null ? 'IN_PROGRESS' : 'COMPLETED',
        r.sentAt,
        r.startedAt ?? null,
        ended,
        r.statusCode ?? null,
        r.prepareMs ?? null,
        r.durationMs ?? null,
        r.runnerId ?? null,
        r.coldStart ? 1 : 0,
        r.coldBootMs ?? null,
        r.billableUnits ?? null,
        r.errorClass ?? null,
        r.input === undefined ? null : JSON.stringify(r.input),
        r.output === undefined ? null : JSON.stringify(r.output),
      );
      ids.push(id);
    }
  })();
  return ids;
}

/** A meter row to seed (one runner, one minute). */
export interface SeedMeter {
  runner?: string;
  minute: number;
  owner: string;
  app: string;
  environment?: string;
  machineType?: string;
  isSurge?: boolean;
  seconds: number;
}

/** Upserts meter rows exactly as the store's MeterStore does. */
export function insertMeter(db: Database.Database, rows: readonly SeedMeter[]): void {
  const stmt = db.prepare(
    `INSERT INTO meter (runner_id, minute, owner, app, environment, machine_type, is_surge, seconds)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (runner_id, minute) DO UPDATE SET owner = excluded.owner, app = excluded.app,
       environment = excluded.environment, machine_type = excluded.machine_type,
       is_surge = excluded.is_surge, seconds = excluded.seconds`,
  );
  db.transaction(() => {
    for (const r of rows) {
      stmt.run(
        r.runner ?? 'runner-1',
        r.minute,
        r.owner,
        r.app,
        r.environment ?? 'main',
        r.machineType ?? 'GPU-H100',
        r.isSurge ? 1 : 0,
        r.seconds,
      );
    }
  })();
}
