import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packBundle } from '@hangar/core/bundle';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from './server-process.js';

const ECHO_DIR = fileURLToPath(new URL('../../examples/echo-node', import.meta.url));
const servers: ServerProcess[] = [];
const homes: string[] = [];

/** A fresh server home, removed after the test. */
function freshHome(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  homes.push(dir);
  return dir;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function call(s: ServerProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(s.url + path, {
    method,
    headers: { authorization: `Key ${s.key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function deployEcho(s: ServerProcess, overrides: Record<string, unknown>) {
  const manifest = JSON.parse(readFileSync(join(ECHO_DIR, 'hangar.json'), 'utf8'));
  const packed = await packBundle(ECHO_DIR);
  const uploaded = await fetch(`${s.url}/v1/serverless/bundles`, {
    method: 'POST',
    headers: { authorization: `Key ${s.key}`, 'content-type': 'application/gzip' },
    body: await readFile(packed.file),
  });
  await packed.remove();
  expect(uploaded.status).toBeLessThan(300);
  const { bundle } = (await uploaded.json()) as { bundle: string };
  const res = await call(s, 'POST', '/v1/serverless/apps', { ...manifest, ...overrides, bundle });
  expect(res.status).toBe(201);
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('server durability (real processes)', () => {
  it('completes every accepted request after kill -9 and a restart, recording each once', async () => {
    const home = freshHome('hangar-durable-');
    const first = await startServerProcess(home);
    servers.push(first);
    await deployEcho(first, { min_concurrency: 1, max_concurrency: 1, max_multiplexing: 2 });

    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await call(first, 'POST', '/queue/demo/echo', { n: i, sleep_ms: 400 });
      expect(res.status).toBe(200);
      ids.push(res.body.request_id);
    }
    await waitFor('a request in progress', async () => {
      const st = await call(first, 'GET', `/queue/demo/echo/requests/${ids[0]}/status`);
      return st.body.status === 'IN_PROGRESS' ? true : undefined;
    });
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServerProcess(home);
    servers.push(second);
    for (const [i, id] of ids.entries()) {
      await waitFor(`request ${i} to complete`, async () => {
        const st = await call(second, 'GET', `/queue/demo/echo/requests/${id}/status`);
        return st.body.status === 'COMPLETED' ? true : undefined;
      });
      const result = await call(second, 'GET', `/queue/demo/echo/requests/${id}`);
      expect(result.status).toBe(200);
      expect(result.body.echo).toEqual({ n: i, sleep_ms: 400 });
    }
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const db = new Database(join(home, 'hangar.db'), { readonly: true });
    const rows = db
      .prepare(`SELECT request_id, status, status_code, billable_units FROM requests WHERE mode = 'queue'`)
      .all() as { request_id: string; status: string; status_code: number; billable_units: number | null }[];
    db.close();
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    for (const r of rows) {
      expect(r.status).toBe('COMPLETED');
      expect(r.status_code).toBe(200);
      expect(r.billable_units).not.toBeNull();
    }
  }, 240_000);

  it('drains an in-flight request on SIGTERM, then exits 0', async () => {
    const home = freshHome('hangar-term-');
    const s = await startServerProcess(home);
    servers.push(s);
    await deployEcho(s, { min_concurrency: 1, max_concurrency: 1 });
    await call(s, 'POST', '/run/demo/echo', { warm: true });
    const inflight = call(s, 'POST', '/run/demo/echo', { sleep_ms: 1500 });
    await new Promise((r) => setTimeout(r, 300));
    s.child.kill('SIGTERM');
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.body.echo).toEqual({ sleep_ms: 1500 });
    expect((await s.exited).code).toBe(0);
  }, 60_000);
});
