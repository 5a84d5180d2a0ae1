import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { type RunningServer, startServer } from '../../main.js';
import { waitFor } from '../../test-services/ports.test-helper.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';

// A whole server with HANGAR_DATABASE_URL: the gateway records on PostgreSQL, refuses queued requests
// with 503 while the database is down, and a newer schema stops the start.
describe.skipIf(postgresMissing !== null)('a server on PostgreSQL', () => {
  let db: PgTestServer;
  let url: string;
  let home: string;
  let server: RunningServer;
  let key: string;

  const start = (databaseUrl: string, dir: string) => {
    writeFileSync(join(dir, 'hangar.config.json'), JSON.stringify({ runners: { isolation: 'none' } }));
    const env = { HANGAR_LOG_LEVEL: 'silent', HANGAR_HOME: dir, HANGAR_OWNER: 'solo' };
    return startServer(loadConfig({ port: '0', home: dir, databaseUrl }, env, dir), { demo: true });
  };

  beforeAll(async () => {
    db = await startPostgres();
    url = await db.createDatabase();
    home = mkdtempSync(join(tmpdir(), 'hangar-pg-server-'));
    server = await start(url, home);
    key = readFileSync(join(home, 'admin.key'), 'utf8').trim();
  });

  afterAll(async () => {
    await server?.shutdown();
    await db?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const call = (path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  const rows = async (text: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows;
    } finally {
      await c.end();
    }
  };

  it('records queued requests in PostgreSQL and answers their status and result', async () => {
    const sub = await call('/queue/solo/echo', { hello: 'pg' });
    expect(sub.status).toBe(200);
    const { request_id: id } = (await sub.json()) as { request_id: string };
    await waitFor(
      async () => {
        const s = await call(`/queue/solo/echo/requests/${id}/status`);
        return ((await s.json()) as { status: string }).status === 'COMPLETED';
      },
      { timeoutMs: 30_000, what: 'the request to complete' },
    );
    const result = await call(`/queue/solo/echo/requests/${id}`);
    expect(result.status).toBe(200);
    expect(JSON.stringify(await result.json())).toContain('pg');
    // The completion is group-committed just after the answer is known.
    await waitFor(
      async () =>
        (await rows('SELECT status FROM requests WHERE request_id = $1', [id]))[0]?.status === 'COMPLETED',
      { timeoutMs: 10_000, what: 'the completion to be committed' },
    );
    const [row] = await rows('SELECT status, mode, owner, status_code FROM requests WHERE request_id = $1', [
      id,
    ]);
    expect(row).toEqual({ status: 'COMPLETED', mode: 'queue', owner: 'solo', status_code: 200 });
  });

  it('gives every log line of a completed request, streamed or polled (lines are published once committed)', async () => {
    for (let round = 0; round < 5; round++) {
      const sub = await call('/queue/solo/echo', { logs: 40 });
      const { request_id: id } = (await sub.json()) as { request_id: string };
      const stream = await call(`/queue/solo/echo/requests/${id}/status/stream?logs=1`);
      const events = (await stream.text())
        .split('\n\n')
        .filter((e) => e.startsWith('data: '))
        .map((e) => JSON.parse(e.slice(6)) as { status: string; logs?: { message: string }[] });
      expect(events.at(-1)?.status).toBe('COMPLETED');
      const streamed = events.flatMap((e) => e.logs ?? []).map((l) => l.message);
      const expected = Array.from({ length: 40 }, (_, i) => `log line ${i + 1}`);
      expect(streamed.filter((m) => m.startsWith('log line'))).toEqual(expected);
      const polled = (await (await call(`/queue/solo/echo/requests/${id}/status?logs=1`)).json()) as {
        logs: { message: string }[];
      };
      expect(polled.logs.map((l) => l.message).filter((m) => m.startsWith('log line'))).toEqual(expected);
    }
  });

  it('refuses queued requests with 503 DATABASE_UNAVAILABLE while PostgreSQL is down, then accepts again', async () => {
    await db.kill();
    try {
      const refused = await call('/queue/solo/echo', { during: true });
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // The gateway answers in fal's gateway shape (no code; server errors are `internal_error`).
      expect(await refused.json()).toEqual({
        detail: 'The database is unavailable; retry later',
        error_type: 'internal_error',
      });
    } finally {
      await db.start();
    }
    const again = await call('/queue/solo/echo', { after: true });
    expect(again.status).toBe(200);
  });

  it('refuses to start on a database migrated by a newer Hangar', async () => {
    const newer = await db.createDatabase();
    const other = mkdtempSync(join(tmpdir(), 'hangar-pg-newer-'));
    try {
      const first = await start(newer, other);
      await first.shutdown();
      const c = new pg.Client({ connectionString: newer });
      await c.connect();
      await c.query(`INSERT INTO schema_migrations VALUES (998, 'from-the-future', 0)`);
      await c.end();
      await expect(start(newer, other)).rejects.toMatchObject({ code: 'DATABASE_SCHEMA_NEWER' });
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
