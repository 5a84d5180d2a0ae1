import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppManifest } from '@hangar/core';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { json, makeAppDir, until } from '../../runners/supervisor.test-helper.js';
import { createPostgresStores, type PostgresStores } from '../../store/postgres/index.js';
import {
  type PgTestServer,
  postgresMissing,
  startPostgres,
} from '../../test-services/postgres.test-helper.js';
import { type RedisTestServer, redisMissing, startRedis } from '../../test-services/redis.test-helper.js';
import { openRedis } from '../redis.js';
import { accepted, deployOn, startNode, type TestNode } from './cluster-queue.test-helper.js';
import { RedisWorkQueue } from './redis-work-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { error: () => {} };

/**
 * A request whose attempt finished is never run again, whatever the request store does meanwhile: the
 * executing node completes its claim in Redis only once its completion is committed in PostgreSQL.
 * Each node has its own PostgreSQL stores (pool and writer), as separate processes would.
 */
describe.skipIf(redisMissing !== null || postgresMissing !== null)(
  'cluster queue: a completion that PostgreSQL is slow to commit',
  () => {
    let redis: RedisTestServer;
    let db: PgTestServer;
    let url: string;
    let storesA: PostgresStores;
    let storesB: PostgresStores;
    let a: TestNode;
    let b: TestNode | null;
    let app: { dir: string; cleanup: () => void };
    let dataRoot: string;
    const manifests = new Map<string, AppManifest>();
    /** How many times the app started this request (the test app counts attempts per request id). */
    const runs = (id: string) => {
      const f = join(dataRoot, 'alice', `attempt-${id}`);
      return existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0;
    };

    beforeAll(async () => {
      [redis, db] = await Promise.all([startRedis(), startPostgres()]);
    });
    afterAll(async () => {
      await Promise.all([redis?.close(), db?.close()]);
    });
    beforeEach(async () => {
      const admin = openRedis(redis.url, { name: 'test:admin' });
      await admin.flushall();
      admin.disconnect();
      url = await db.createDatabase();
      const open = () => createPostgresStores(url, { logger: quiet, maintenanceIntervalMs: 0 });
      [storesA, storesB] = await Promise.all([open(), open()]);
      app = makeAppDir();
      dataRoot = mkdtempSync(join(tmpdir(), 'hangar-cc-'));
      a = await startNode('cc-a', redis.url, storesA.requests, dataRoot, manifests, 1000, () =>
        storesA.flush(),
      );
      b = await startNode('cc-b', redis.url, storesB.requests, dataRoot, manifests, 1000, () =>
        storesB.flush(),
      );
    });
    afterEach(async () => {
      await Promise.all([a.sup.close(2000), b?.sup.close(2000)]);
      await Promise.all([storesA.close(), storesB.close()]);
      app.cleanup();
      rmSync(dataRoot, { recursive: true, force: true });
    });

    it('runs a request once while its completion waits 8 s behind a table lock (reads still answer)', async () => {
      await deployOn(b!, app.dir, 'cc', manifests);
      // The accepting node hears no messages: only its reconciliation resolves the waiter.
      a.redis[2]!.disconnect(false);
      const req = await accepted(storesA.requests, 'cc', { sleep_ms: 1000 });
      const pending = a.sup.dispatch(req);
      await until(async () => (await storesA.requests.get(req.requestId))?.status === 'IN_PROGRESS');
      // Writes to requests wait; reads (the accepting node's reconciliation) go on.
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE requests IN EXCLUSIVE MODE');
      await sleep(8000);
      await locker.query('COMMIT');
      await locker.end();
      const result = await pending;
      expect(result.statusCode).toBe(200);
      expect(json(result.body).body).toEqual({ sleep_ms: 1000 });
      await storesA.flush();
      expect(await storesA.requests.get(req.requestId)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
      expect(runs(req.requestId)).toBe(1);
    });

    it('runs a request once when PostgreSQL is killed while it runs and restarted after it ended', async () => {
      await deployOn(b!, app.dir, 'cc', manifests);
      const req = await accepted(storesA.requests, 'cc', { sleep_ms: 1000 });
      const pending = a.sup.dispatch(req);
      await until(async () => (await storesA.requests.get(req.requestId))?.status === 'IN_PROGRESS');
      await db.kill();
      await sleep(4000);
      await db.start();
      const result = await pending;
      expect(result.statusCode).toBe(200);
      await storesA.flush();
      expect(await storesA.requests.get(req.requestId)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
      expect(runs(req.requestId)).toBe(1);
    });

    it('does not run again a request whose node committed its completion and was lost before completing the claim', async () => {
      const req = await accepted(storesA.requests, 'cc', { n: 1 });
      const pending = a.sup.dispatch(req);
      // A node claims it, commits its outcome, and is gone before completing the claim.
      const ghost = new RedisWorkQueue(openRedis(redis.url, { name: 'test:ghost' }));
      await until(async () => (await ghost.state(req.requestId)).state === 'queued');
      const claim = await ghost.claim('alice', 'cc', 'ghost', 300, Date.now());
      expect(claim?.work.requestId).toBe(req.requestId);
      const now = Date.now();
      const body = Buffer.from('{"from":"ghost"}');
      storesA.requests.complete(
        req.requestId,
        { statusCode: 200, startedAt: now - 10, endedAt: now, attempts: 1 },
        { statusCode: 200, contentType: 'application/json', body },
        now + 60_000,
      );
      await storesA.flush();
      await ghost.close();
      // A node with a runner takes the lapsed claim back.
      await deployOn(b!, app.dir, 'cc', manifests);
      const result = await pending;
      expect(json(result.body)).toEqual({ from: 'ghost' });
      await until(async () => (await b!.sup.runners('alice', 'cc')).length > 0);
      const observer = new RedisWorkQueue(openRedis(redis.url, { name: 'test:observer' }));
      await until(async () => (await observer.state(req.requestId)).state === 'unknown');
      await observer.close();
      expect(runs(req.requestId)).toBe(0);
    });
  },
);
