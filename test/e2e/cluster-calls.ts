// Calls into a test cluster: the Platform API and the gateway over HTTP, the echo app's deploy, and what the
// database and the runners' own records say about each request (for exactly-once checks).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packBundle } from '@hangar/core/bundle';
import pg from 'pg';
import type { TestCluster } from './cluster.js';

const ECHO_DIR = fileURLToPath(new URL('../../examples/echo-node', import.meta.url));

/** The owner of the cluster's admin key (HANGAR_OWNER's default). */
export const OWNER = 'demo';

/** An HTTP answer with its JSON body parsed (or undefined when empty or not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes loosely
  body: any;
}

/** Calls `url + path` with the cluster's admin key; network errors resolve as status 0. */
export async function call(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  try {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Key ${key}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed };
  } catch {
    return { status: 0, headers: new Headers(), body: undefined };
  }
}

/** Uploads examples/echo-node and creates the app `demo/echo` through `url`, with manifest overrides. */
export async function deployEcho(
  url: string,
  key: string,
  overrides: Record<string, unknown>,
): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(ECHO_DIR, 'hangar.json'), 'utf8'));
  const packed = await packBundle(ECHO_DIR);
  const uploaded = await fetch(`${url}/v1/serverless/bundles`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/gzip' },
    body: await readFile(packed.file),
  });
  await packed.remove();
  if (uploaded.status >= 300) throw new Error(`bundle upload answered ${uploaded.status}`);
  const { bundle } = (await uploaded.json()) as { bundle: string };
  const res = await call(url, key, 'POST', '/v1/serverless/apps', { ...manifest, ...overrides, bundle });
  if (res.status !== 201) throw new Error(`deploy answered ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Polls `fn` every 100 ms until it gives a value other than undefined. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every finished run the echo app recorded (`record: true`) on any node: request id → runs. */
export function echoRuns(cluster: TestCluster): Map<string, number> {
  return new Map([...echoRunners(cluster)].map(([id, runners]) => [id, runners.length]));
}

/** Every finished run the echo app recorded on any node: request id → the runner of each run. */
export function echoRunners(cluster: TestCluster): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  const visit = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === 'echo-runs.log') {
        for (const line of readFileSync(path, 'utf8').split('\n')) {
          const [id, runner] = line.split(' ');
          if (id) runs.set(id, [...(runs.get(id) ?? []), runner ?? '-']);
        }
      } else if (depth < 4 && statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
        visit(path, depth + 1);
      }
    }
  };
  visit(cluster.root, 0);
  return runs;
}

/** A request's row as PostgreSQL holds it. */
export interface RequestRow {
  request_id: string;
  status: string;
  status_code: number | null;
  attempts: number;
  runner_id: string | null;
  node_id: string | null;
  /** When its current attempt started (epoch ms), null before. */
  started_at: number | null;
}

/** Runs `fn` with a client connected to the cluster's database. */
export async function withDb<T>(cluster: TestCluster, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: cluster.databaseUrl });
  // A PostgreSQL restart (chaos) ends the connection with an error event: the query's own error says it.
  db.on('error', () => {});
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end().catch(() => {});
  }
}

/** The rows of `ids` (with the node of the runner that answered), one per row found. */
export async function requestRows(cluster: TestCluster, ids: string[]): Promise<RequestRow[]> {
  return withDb(cluster, async (db) => {
    const res = await db.query(
      `SELECT q.request_id, q.status, q.status_code, q.attempts, q.runner_id, r.node_id,
              q.started_at::float8 AS started_at
         FROM requests q LEFT JOIN runners r ON r.runner_id = q.runner_id
        WHERE q.request_id = ANY($1)`,
      [ids],
    );
    return res.rows as RequestRow[];
  });
}
