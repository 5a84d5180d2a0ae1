import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App, AppManifest, DispatchRequest, MachineType, Revision } from '@hangar/core';
import { createMemoryStores, type MemoryStores } from '../store/memory/index.js';
import type { SupervisorDeps } from './context.js';
import { createLogBus } from './log-bus.js';
import { createProcessRunnerDriver } from './process-driver.js';
import { createSupervisor, type Supervisor } from './supervisor.js';

/**
 * A small HTTP app for supervisor tests. The JSON body steers it: `sleep_ms`, `status`, `crash_once`
 * (exit mid-request the first time this request id is seen), `fail_once_503`, `fail_times` (the first N
 * attempts of this request id answer `fail_status`, default 503, with `fail_headers`), `slow_times` (the
 * first N attempts sleep `slow_ms`), `headers` (set on every answer), `close_listener` (stop accepting
 * connections after answering). It answers with its runner id, revision env, the headers it got, the
 * attempt number and the highest concurrency it saw. Env `SETUP_MS` delays opening its port.
 */
export const TEST_APP = `
import http from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dataDir = process.env.DATA_DIR;
let inflight = 0, maxInflight = 0;
const waiting = new Map();
const once = (kind, id) => {
  const f = join(dataDir, kind + '-' + id);
  if (existsSync(f)) return false;
  writeFileSync(f, '1');
  return true;
};
const bump = (kind, id) => {
  const f = join(dataDir, kind + '-' + id);
  const n = existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0;
  writeFileSync(f, String(n + 1));
  return n;
};
let server;
if (process.env.NEVER_HEALTHY) setInterval(() => {}, 1000);
else server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const id = req.headers['x-fal-request-id'];
    if (req.url === '/health') { res.end('ok'); return; }
    if (req.url.endsWith('/cancel')) {
      console.log('cancel ' + id);
      waiting.get(id)?.();
      res.end('{}');
      return;
    }
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    inflight++; maxInflight = Math.max(maxInflight, inflight);
    console.log(JSON.stringify({ level: 'warning', message: 'handling', request_id: id, labels: { step: 1 } }));
    console.log('plain line');
    console.error('INFO:app:python style');
    if (body.crash_once && once('crash', id)) process.exit(3);
    const attempt = bump('attempt', id) + 1;
    const failing = attempt <= (body.fail_times ?? 0);
    const finish = (cancelled) => {
      inflight--;
      waiting.delete(id);
      let status = body.fail_once_503 && once('503', id) ? 503 : (body.status ?? 200);
      if (failing) status = body.fail_status ?? 503;
      // Stop listening before answering, so the port is gone by the time the answer arrives.
      if (body.close_listener) server.close();
      res.writeHead(status, {
        'content-type': 'application/json', 'x-fal-billable-units': '2.5', 'x-app': 'yes',
        ...(body.headers ?? {}), ...(failing ? (body.fail_headers ?? {}) : {}),
      });
      res.end(JSON.stringify({
        runner: process.env.HANGAR_RUNNER_ID, rev: process.env.REV ?? null, app: process.env.HANGAR_APP,
        dataDir, path: req.url, method: req.method, headers: req.headers, body, maxInflight, cancelled,
        envKeys: Object.keys(process.env), attempt,
      }));
    };
    const sleep = attempt <= (body.slow_times ?? 0) ? body.slow_ms : body.sleep_ms;
    const timer = setTimeout(() => finish(false), sleep ?? 0);
    waiting.set(id, () => { clearTimeout(timer); finish(true); });
  });
});
// SETUP_MS: a slow setup (a model loading) before the port is opened.
setTimeout(() => server?.listen(Number(process.env.PORT), '127.0.0.1'), Number(process.env.SETUP_MS ?? 0));
process.on('SIGTERM', () => process.exit(0));
`;

export const MACHINE_TYPES: Record<string, MachineType> = {
  CPU: { unitPrice: 0.0001, gpuLabel: 'CPU', reservedRunners: 1, surgeMultiplier: 2 },
};

/** A temp directory holding the test app, removed by `cleanup`. */
export function makeAppDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-runner-test-'));
  writeFileSync(join(dir, 'app.mjs'), TEST_APP);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function manifest(over: Partial<AppManifest> = {}): AppManifest {
  return {
    name: 'app',
    command: [process.execPath, 'app.mjs'],
    machine_type: 'CPU',
    environment: 'main',
    auth_mode: 'private',
    keep_alive: 300,
    min_concurrency: 1,
    max_concurrency: 1,
    max_multiplexing: 1,
    request_timeout: 30,
    startup_timeout: 10,
    health_path: '/health',
    routes: ['/'],
    env: {},
    ...over,
  };
}

let revSeq = 0;

/** An app and one revision of it. */
export function revision(dir: string, m: AppManifest, owner = 'alice'): { app: App; rev: Revision } {
  const rev: Revision = {
    revisionId: `rev-${++revSeq}`,
    owner,
    app: m.name,
    createdAt: Date.now(),
    message: null,
    annotations: null,
    status: 'deployed',
    deployedBy: null,
    manifest: m,
    bundle: null,
    dir,
  };
  const app: App = {
    owner,
    name: m.name,
    currentRevision: rev.revisionId,
    manifest: m,
    dir,
    createdAt: rev.createdAt,
    updatedAt: rev.createdAt,
  };
  return { app, rev };
}

let reqSeq = 0;

/** A dispatch request to `alice/<app>` with a JSON body. */
export function request(
  app: string,
  body: unknown = {},
  over: Partial<DispatchRequest> = {},
): DispatchRequest {
  return {
    requestId: `req-${++reqSeq}-${process.pid}`,
    owner: 'alice',
    app,
    endpointId: `alice/${app}`,
    path: '/',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-custom': 'v' },
    body: Buffer.from(JSON.stringify(body)),
    priority: 'normal',
    timeoutMs: 10_000,
    startDeadline: null,
    noRetry: false,
    retryBudgets: null,
    runnerHint: null,
    sentAt: Date.now(),
    ...over,
  };
}

/** A clock that follows real time plus an offset tests can advance. */
export function offsetClock(): { clock: () => number; advance: (ms: number) => void } {
  let offset = 0;
  return {
    clock: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

export interface Harness {
  sup: Supervisor;
  stores: MemoryStores;
  deps: SupervisorDeps;
  dataRoot: string;
}

/** A supervisor over the process driver and memory stores, with fast loops. */
export function harness(
  over: Partial<SupervisorDeps> = {},
  dataRoot = mkdtempSync(join(tmpdir(), 'hangar-data-')),
): Harness {
  const stores = createMemoryStores();
  let id = 0;
  const deps: SupervisorDeps = {
    driver: createProcessRunnerDriver(),
    stores,
    logBus: createLogBus(),
    machineTypes: MACHINE_TYPES,
    dataRoot: (owner) => join(dataRoot, owner),
    clock: Date.now,
    ids: () => `runner-${process.pid}-${++id}-${Math.random().toString(36).slice(2, 8)}`,
    logger: { info() {}, warn() {}, error() {} },
    healthIntervalMs: 20,
    meterIntervalMs: 50,
    sampleIntervalMs: 50,
    stopGraceMs: 1000,
    backoffBaseMs: 200,
    ...over,
  };
  return { sup: createSupervisor(deps), stores, deps, dataRoot };
}

/** Polls `check` until it returns a truthy value. */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are free-form JSON
export function json(body: Buffer): Record<string, any> {
  return JSON.parse(body.toString());
}

/** A harness plus a test app directory; everything is undone by running `cleanups` (newest first). */
export function testBed(
  cleanups: Array<() => Promise<void> | void>,
  over: Partial<SupervisorDeps> = {},
): Harness & { dir: string } {
  const { dir, cleanup } = makeAppDir();
  const h = harness(over);
  cleanups.push(
    cleanup,
    () => rmSync(h.dataRoot, { recursive: true, force: true }),
    () => h.sup.close(2000),
  );
  return { ...h, dir };
}
