import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { describeWebhookOutboxContract, type WebhookOutboxHarness } from '../webhook-outbox-contract.js';
import { loadMigrations, migratePostgres } from './migrate.js';
import { PostgresWebhookOutbox } from './outbox.js';
import type { PgSession } from './session.js';

function session(pool: pg.Pool): PgSession {
  return {
    query: async <T>(text: string, params?: readonly unknown[]) =>
      (await pool.query(text, params as unknown[])).rows as T[],
  };
}

describe.skipIf(postgresMissing !== null)('PostgreSQL webhook outbox', () => {
  let server: PgTestServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  async function openOn(url: string): Promise<WebhookOutboxHarness> {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle connection cut by a crash of the server is reported here; the next query reconnects.
    pool.on('error', () => {});
    return {
      outbox: new PostgresWebhookOutbox(session(pool)),
      close: () => pool.end(),
      reopen: () => openOn(url),
    };
  }

  describeWebhookOutboxContract('postgres', async () => {
    const url = await server.createDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {});
    await migratePostgres(session(pool), await loadMigrations());
    await pool.end();
    return openOn(url);
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while PostgreSQL is down, and works once it is back', async () => {
    const url = await server.createDatabase();
    const h = await openOn(url);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {});
    await migratePostgres(session(pool), await loadMigrations());
    await pool.end();
    const d = {
      id: 'r1',
      owner: 'acme',
      app: 'echo',
      userId: 'alice',
      url: 'https://x.example/',
      createdAt: 1,
    };
    await h.outbox.enqueue(d);
    await server.kill();
    try {
      const err = await h.outbox.ready(d, Buffer.from('x'), 0).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
        status: 503,
        headers: { 'retry-after': '2' },
      });
    } finally {
      await server.start();
    }
    await h.outbox.ready(d, Buffer.from('x'), 0);
    expect((await h.outbox.claim(0, 10, 1000)).map((c) => c.id)).toEqual(['r1']);
    await h.close();
  });
});
