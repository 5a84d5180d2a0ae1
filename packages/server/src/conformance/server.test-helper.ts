import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadConfig } from '../config.js';
import { type RunningServer, startServer } from '../main.js';
import { openOperator } from '../operator.js';
import { multiTenantIsolation } from '../runners/sandbox/availability.test-helper.js';

// The whole server, started as `hangar serve --demo` starts it, in a fresh home, with a key of every
// kind for its owner (`demo`) and for a second tenant (`bob`), and a keep-alive connection pool that
// sends paths exactly as given (no URL normalisation, so `..` reaches the server).

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The demo echo app's directory, deployed a second time by the other tenant. */
export const ECHO_APP_DIR = join(REPO_ROOT, 'examples', 'echo-node');

/** Which key a call carries; `none` sends no Authorization header. */
export type KeyName = 'admin' | 'api' | 'bobAdmin' | 'bobApi' | 'none' | 'malformed' | 'unknown';

/** A response read whole, in the shape the fal oracle checks. */
export interface SeenResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; `path` is sent verbatim. */
export interface CallOptions {
  key?: KeyName;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  /** Read only the head of a `text/event-stream` answer, then drop the connection. */
  headOnlyForStreams?: boolean;
}

/** A running demo server with keys, a small URL-upload source, and a raw HTTP client. */
export interface ConformanceServer {
  server: RunningServer;
  home: string;
  keys: Record<Exclude<KeyName, 'none'>, string>;
  /** A file server on 127.0.0.1 (allow-listed for URL uploads): `GET /cat.txt` answers a small file. */
  sourceUrl: string;
  call(method: string, path: string, opts?: CallOptions): Promise<SeenResponse>;
  close(): Promise<void>;
}

function startSource(): Promise<Server> {
  const source = createServer((req, res) => {
    if (req.url === '/cat.txt') res.writeHead(200, { 'content-type': 'text/plain' }).end('meow\n');
    else res.writeHead(404).end();
  });
  return new Promise((ok) => source.listen(0, '127.0.0.1', () => ok(source)));
}

/** Where the server keeps its state: SQLite in its home (default), or a cluster's PostgreSQL and Redis. */
export interface ConformanceBackend {
  databaseUrl: string;
  redisUrl: string;
}

/** Keys of a second tenant, made by the operator (no server route creates another owner's keys). */
async function otherTenantKeys(home: string, backend?: ConformanceBackend) {
  const flags = backend ? { databaseUrl: backend.databaseUrl } : {};
  return openOperator(
    home,
    async (op) => ({
      bobAdmin: (await op.createKey('bob', 'ADMIN', 'bob admin')).key,
      bobApi: (await op.createKey('bob', 'API', 'bob api')).key,
    }),
    flags,
  );
}

/** An API-scope key of the demo owner, created through `POST /v1/keys` with the admin key. */
async function createApiKey(pool: Pool, adminKey: string): Promise<string> {
  const res = await pool.request({
    method: 'POST',
    path: '/v1/keys',
    headers: { authorization: `Key ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scope: 'API', name: 'conformance' }),
  });
  const body = (await res.body.json()) as { key?: string };
  if (res.statusCode !== 201 || !body.key) throw new Error(`POST /v1/keys answered ${res.statusCode}`);
  return body.key;
}

/**
 * Starts the server with the demo apps (fast runner sampling and metering, metrics uncached), on SQLite,
 * or as a one-node cluster on `backend`'s PostgreSQL database and Redis.
 */
export async function startConformanceServer(backend?: ConformanceBackend): Promise<ConformanceServer> {
  const home = mkdtempSync(join(tmpdir(), 'hangar-conformance-'));
  writeFileSync(
    join(home, 'hangar.config.json'),
    JSON.stringify({
      runners: { sample_interval_ms: 250, meter_interval_ms: 500, isolation: multiTenantIsolation },
      metrics: { cache_ttl_s: 0 },
      files: { url_allowlist: ['127.0.0.1'] },
      // The fuzzer sends unknown and malformed keys by the thousand from one address, on purpose.
      limits: { max_upload_bytes: 1 << 20, auth_failures: { per_address: 0, per_key: 0 } },
    }),
  );
  const env = {
    HANGAR_LOG_LEVEL: 'warn',
    HANGAR_HOME: home,
    ...(backend ? { HANGAR_DATABASE_URL: backend.databaseUrl, HANGAR_REDIS_URL: backend.redisUrl } : {}),
  };
  const server = await startServer(loadConfig({ port: '0', home }, env, home), { demo: true });
  if (!server.adminKey) throw new Error('a fresh home must generate an admin key');
  const source = await startSource();
  // A stalled answer fails its call within seconds instead of at the server's keep-alive timeout.
  const pool = new Pool(server.url, {
    connections: 8,
    keepAliveTimeout: 60_000,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const keys = {
    admin: server.adminKey,
    api: await createApiKey(pool, server.adminKey),
    ...(await otherTenantKeys(home, backend)),
    malformed: 'not-a-key',
    unknown: 'nobody:secret',
  };

  const call = async (method: string, path: string, opts: CallOptions = {}): Promise<SeenResponse> => {
    const key = opts.key ?? 'api';
    const headers: Record<string, string> = { ...opts.headers };
    if (key !== 'none') headers['authorization'] = `Key ${keys[key]}`;
    const res = await pool.request({ method: method as 'GET', path, headers, body: opts.body });
    const type = String(res.headers['content-type'] ?? '');
    if (opts.headOnlyForStreams && type.startsWith('text/event-stream')) {
      res.body.on('error', () => {}).destroy();
      return { statusCode: res.statusCode, headers: res.headers, body: '' };
    }
    return { statusCode: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  return {
    server,
    home,
    keys,
    sourceUrl: `http://127.0.0.1:${(source.address() as AddressInfo).port}`,
    call,
    async close() {
      await pool.close();
      source.close();
      await server.shutdown();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
