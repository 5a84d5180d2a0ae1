import type { AppLiveStats } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../http/app.js';
import { describeOnBackends, openSyncedReads, type SyncedReads } from '../testing/backends.test-helper.js';
import { registerAppsRoutes } from './routes.js';
import { falViolations } from './testing/fal-oracle.test-helper.js';
import { addKey, insertApp, openTestDb, type TestDb, testApp } from './testing/harness.test-helper.js';

const NOW = Date.parse('2026-06-10T12:00:00Z');
let now = NOW;
let t: TestDb;
let pool: SyncedReads;
let app: HttpApp;
let alice: string;
let alice2: string;
let bob: string;
const flushed: string[][] = [];
const queued = new Map<string, string[]>([['alice/echo', ['q1', 'q2']]]);
const live: AppLiveStats[] = [
  {
    owner: 'alice',
    app: 'echo',
    machineType: 'GPU-H100',
    queueSize: 5,
    inFlight: 1,
    runners: {
      pending: 0,
      docker_pull: 0,
      setup: 0,
      idle: 1,
      running: 1,
      draining: 0,
      terminating: 0,
      terminated: 0,
    },
  },
];

// Seeded into a SQLite file; on PostgreSQL every read first mirrors that file.
describeOnBackends('apps routes', (backend) => {
  beforeAll(async () => {
    // The flush test's state starts afresh for each engine.
    now = NOW;
    flushed.length = 0;
    queued.set('alice/echo', ['q1', 'q2']);
    t = openTestDb();
    alice = addKey(t.db, 'alice').auth;
    alice2 = addKey(t.db, 'alice').auth;
    bob = addKey(t.db, 'bob').auth;
    insertApp(t.db, 'alice', 'echo', { revisions: 5, manifest: { routes: ['/', '/turbo', '/v2/fast/'] } });
    insertApp(t.db, 'alice', 'Image-Maker', { updatedAt: NOW - 1000 });
    insertApp(t.db, 'alice', 'staging-thing', { manifest: { environment: 'dev' } });
    insertApp(t.db, 'bob', 'secret');
    app = testApp(t.db);
    pool = await openSyncedReads(backend, t.path);
    registerAppsRoutes(app, {
      reads: pool.apps,
      dispatcher: {
        stats: (owner) => live.filter((s) => s.owner === owner),
        flushQueue: (owner, name) => {
          const ids = queued.get(`${owner}/${name}`) ?? [];
          queued.set(`${owner}/${name}`, []);
          return ids;
        },
      },
      onQueueFlushed: (_o, _a, ids) => {
        flushed.push(ids);
      },
      clock: () => now,
    });
  });
  afterAll(async () => {
    await app.close();
    await pool.close();
    t.close();
  });

  async function call(
    method: 'GET' | 'DELETE',
    url: string,
    auth = alice,
    headers: Record<string, string> = {},
  ) {
    return app.inject({ method, url, headers: { authorization: auth, ...headers } });
  }

  async function get(opId: string, url: string, auth = alice) {
    const res = await call('GET', url, auth);
    expect(falViolations(opId, res), url).toEqual([]);
    return res;
  }

  describe('GET /v1/serverless/apps', () => {
    it('lists the caller’s apps of the main environment in fal shape', async () => {
      const res = await get('serverlessListApps', '/v1/serverless/apps');
      expect(res.statusCode).toBe(200);
      const apps = res.json().apps;
      expect(apps.map((a: { endpoint_id: string }) => a.endpoint_id)).toEqual([
        'alice/Image-Maker',
        'alice/echo',
      ]);
      expect(apps[1]).toEqual({
        endpoint_id: 'alice/echo',
        name: 'echo',
        owner: 'alice',
        environment: 'main',
        machine_type: 'GPU-H100',
        auth_mode: 'private',
        keep_alive: 10,
        min_concurrency: 0,
        max_concurrency: 2,
        request_timeout: 60,
        startup_timeout: 30,
        valid_regions: ['local'],
        updated_at: '2026-01-01T00:00:00.000Z',
      });
    });

    it('filters by environment and case-insensitive search; expands endpoints', async () => {
      const dev = (await get('serverlessListApps', '/v1/serverless/apps?environment=dev')).json().apps;
      expect(dev.map((a: { name: string }) => a.name)).toEqual(['staging-thing']);
      const found = (await get('serverlessListApps', '/v1/serverless/apps?search=image')).json().apps;
      expect(found.map((a: { name: string }) => a.name)).toEqual(['Image-Maker']);
      for (const q of ['expand=endpoints', 'expand=endpoints,endpoints']) {
        const apps = (await get('serverlessListApps', `/v1/serverless/apps?${q}`)).json().apps;
        expect(apps[1].endpoints).toEqual(['alice/echo', 'alice/echo/turbo', 'alice/echo/v2/fast']);
        expect(apps[0].endpoints).toEqual(['alice/Image-Maker']);
      }
      expect((await call('GET', '/v1/serverless/apps?expand=billing')).statusCode).toBe(400);
    });

    it('never lists another owner’s apps', async () => {
      const apps = (await get('serverlessListApps', '/v1/serverless/apps', bob)).json().apps;
      expect(apps.map((a: { endpoint_id: string }) => a.endpoint_id)).toEqual(['bob/secret']);
    });
  });

  describe('queue', () => {
    it('reports the queue size from the dispatcher', async () => {
      const res = await get('serverlessGetAppQueueInfo', '/v1/serverless/apps/alice/echo/queue');
      expect(res.json()).toEqual({ queue_size: 5 });
      const idle = await get('serverlessGetAppQueueInfo', '/v1/serverless/apps/alice/Image-Maker/queue');
      expect(idle.json()).toEqual({ queue_size: 0 });
    });

    it('flushes once per Idempotency-Key and key for 10 minutes', async () => {
      const del = (auth: string, key?: string) =>
        call('DELETE', '/v1/serverless/apps/alice/echo/queue', auth, key ? { 'idempotency-key': key } : {});
      const first = await del(alice, 'k-1');
      expect(first.statusCode).toBe(204);
      expect(first.body).toBe('');
      expect(falViolations('serverlessFlushAppQueue', first)).toEqual([]);
      expect(flushed).toEqual([['q1', 'q2']]);
      queued.set('alice/echo', ['q3']);
      expect((await del(alice, 'k-1')).statusCode).toBe(204);
      expect(queued.get('alice/echo')).toEqual(['q3']);
      expect((await del(alice2, 'k-1')).statusCode).toBe(204);
      expect(flushed).toEqual([['q1', 'q2'], ['q3']]);
      queued.set('alice/echo', ['q4']);
      now += 600_001;
      await del(alice, 'k-1');
      expect(flushed.at(-1)).toEqual(['q4']);
      queued.set('alice/echo', ['q5']);
      await del(alice);
      expect(flushed.at(-1)).toEqual(['q5']);
      now = NOW;
    });

    it('answers 403 to others and 404 for unknown apps, touching nothing', async () => {
      queued.set('alice/echo', ['q6']);
      for (const [method, auth, url, status] of [
        ['GET', bob, '/v1/serverless/apps/alice/echo/queue', 403],
        ['DELETE', bob, '/v1/serverless/apps/alice/echo/queue', 403],
        ['GET', bob, '/v1/serverless/apps/alice/nope/queue', 403],
        ['GET', alice, '/v1/serverless/apps/alice/nope/queue', 404],
        ['DELETE', alice, '/v1/serverless/apps/alice/nope/queue', 404],
      ] as const) {
        const res = await call(method, url, auth);
        expect(res.statusCode, `${method} ${url}`).toBe(status);
        const op = method === 'GET' ? 'serverlessGetAppQueueInfo' : 'serverlessFlushAppQueue';
        expect(falViolations(op, res)).toEqual([]);
      }
      expect(queued.get('alice/echo')).toEqual(['q6']);
    });
  });
});
