import { EVENT_CATEGORIES } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../http/app.js';
import { describeOnBackends, openSyncedReads, type SyncedReads } from '../testing/backends.test-helper.js';
import { registerAppsRoutes } from './routes.js';
import { falViolations } from './testing/fal-oracle.test-helper.js';
import { addKey, insertApp, openTestDb, type TestDb, testApp } from './testing/harness.test-helper.js';

const NOW = Date.parse('2026-06-10T12:00:00Z');
const at = (iso: string) => Date.parse(iso);
let t: TestDb;
let pool: SyncedReads;
let app: HttpApp;
let alice: string;
let bob: string;

function seed() {
  insertApp(t.db, 'alice', 'echo', { revisions: 5 });
  insertApp(t.db, 'bob', 'secret');
  const sample = t.db.prepare(
    'INSERT INTO runner_samples (ts, owner, app, pending, setup, idle, running, draining) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const rows: [string, string, number, number, number, number, number][] = [
    ['alice', '2026-06-10T00:10:00Z', 1, 1, 1, 2, 0],
    ['alice', '2026-06-10T00:40:00Z', 0, 0, 0, 4, 1],
    ['alice', '2026-06-10T02:30:00Z', 0, 2, 1, 1, 0],
    ['alice', '2026-05-05T10:00:00Z', 0, 0, 0, 3, 0],
    ['alice', '2026-05-09T10:00:00Z', 0, 0, 0, 5, 0],
    ['bob', '2026-06-10T00:20:00Z', 9, 9, 9, 99, 9],
  ];
  for (const [owner, ts, pending, setup, idle, running, draining] of rows) {
    sample.run(at(ts), owner, 'echo', pending, setup, idle, running, draining);
  }
  const event = t.db.prepare(
    'INSERT INTO events (event_id, owner, app, category, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (let i = 0; i < 60; i++) {
    const payload = {
      job_id: `job-${i}`,
      machine_type: 'GPU-H100',
      internal_only: 'x',
      actor: { nickname: 'alice', x: 1 },
    };
    // Twenty events share each timestamp, so paging must tiebreak.
    event.run(
      `e${String(i).padStart(3, '0')}`,
      'alice',
      'echo',
      EVENT_CATEGORIES[i % 3],
      NOW - 3_600_000 + Math.floor(i / 20),
      JSON.stringify(payload),
    );
  }
  event.run('bob-e', 'bob', 'echo', 'runner_started', NOW - 1000, '{}');
}

// Seeded into a SQLite file; on PostgreSQL every read first mirrors that file.
describeOnBackends('app history routes', (backend) => {
  beforeAll(async () => {
    t = openTestDb();
    alice = addKey(t.db, 'alice').auth;
    bob = addKey(t.db, 'bob').auth;
    seed();
    app = testApp(t.db);
    pool = await openSyncedReads(backend, t.path);
    registerAppsRoutes(app, {
      reads: pool.apps,
      dispatcher: { stats: () => [], flushQueue: () => [] },
      clock: () => NOW,
    });
  });
  afterAll(async () => {
    await app.close();
    await pool.close();
    t.close();
  });

  async function get(opId: string, url: string, auth = alice) {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: auth } });
    expect(falViolations(opId, res), url).toEqual([]);
    return res;
  }

  const HISTORY = '/v1/serverless/apps/alice/echo/runners/history';
  const zero = { running: 0, idle: 0, pending: 0, draining: 0 };

  describe('runner history', () => {
    it('aggregates max per auto-sized bucket, pending including setup, zero-filled', async () => {
      const res = await get(
        'serverlessGetRunnerHistory',
        `${HISTORY}?start=2026-06-10T00:00:00Z&end=2026-06-10T06:00:00Z`,
      );
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ endpoint_id: 'alice/echo', timeframe: 'hour', aggregation: 'max' });
      expect(body.history).toEqual([
        { timestamp: '2026-06-10T00:00:00.000Z', running: 4, idle: 1, pending: 2, draining: 1 },
        { timestamp: '2026-06-10T01:00:00.000Z', ...zero },
        { timestamp: '2026-06-10T02:00:00.000Z', running: 1, idle: 1, pending: 2, draining: 0 },
        { timestamp: '2026-06-10T03:00:00.000Z', ...zero },
        { timestamp: '2026-06-10T04:00:00.000Z', ...zero },
        { timestamp: '2026-06-10T05:00:00.000Z', ...zero },
      ]);
    });

    it('averages samples with aggregation=avg', async () => {
      const url = `${HISTORY}?start=2026-06-10T00:00:00Z&end=2026-06-10T01:00:00Z&aggregation=avg&timeframe=hour`;
      const body = (await get('serverlessGetRunnerHistory', url)).json();
      expect(body.history).toEqual([
        { timestamp: '2026-06-10T00:00:00.000Z', running: 3, idle: 0.5, pending: 1, draining: 0.5 },
      ]);
    });

    it('buckets by calendar weeks (Monday) and months', async () => {
      const weeks = (
        await get('serverlessGetRunnerHistory', `${HISTORY}?start=2026-05-01&end=2026-05-18&timeframe=week`)
      ).json();
      expect(weeks.history.map((h: { timestamp: string }) => h.timestamp)).toEqual([
        '2026-04-27T00:00:00.000Z',
        '2026-05-04T00:00:00.000Z',
        '2026-05-11T00:00:00.000Z',
      ]);
      expect(weeks.history[1].running).toBe(5);
      const months = (
        await get(
          'serverlessGetRunnerHistory',
          `${HISTORY}?start=2026-04-15&end=2026-06-11&timeframe=month&aggregation=avg`,
        )
      ).json();
      expect(months.history.map((h: { running: number }) => h.running)).toEqual([0, 4, 7 / 3]);
      expect(months.history[0].timestamp).toBe('2026-04-01T00:00:00.000Z');
    });

    it('rejects ranges over 90 days, bad enums and too many buckets', async () => {
      for (const q of [
        'start=2026-01-01&end=2026-06-01',
        'aggregation=sum',
        'timeframe=year',
        'start=2026-06-01&end=2026-06-10&timeframe=minute',
        'start=nope',
      ]) {
        const res = await get('serverlessGetRunnerHistory', `${HISTORY}?${q}`);
        expect(res.statusCode, q).toBe(400);
      }
    });
  });

  describe('events', () => {
    const EVENTS = '/v1/serverless/apps/alice/echo/events';

    it('pages newest first through equal timestamps without loss, in fal shape', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `${EVENTS}?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const body = (await get('serverlessListAppEvents', url)).json();
        expect(body.has_more).toBe(body.next_cursor !== null);
        seen.push(...body.events.map((e: { event_id: string }) => e.event_id));
        cursor = body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => `e${String(59 - i).padStart(3, '0')}`));
      // fal's page-number cursors (base64 of the page number) reach the same pages.
      const byPage: string[] = [];
      for (let page = 1; page <= 9; page++) {
        const cursor = encodeURIComponent(Buffer.from(String(page)).toString('base64'));
        const body = (await get('serverlessListAppEvents', `${EVENTS}?limit=7&cursor=${cursor}`)).json();
        expect(body.has_more).toBe(page < 9);
        byPage.push(...body.events.map((e: { event_id: string }) => e.event_id));
      }
      expect(byPage).toEqual(seen);
      const first = (await get('serverlessListAppEvents', `${EVENTS}?limit=1`)).json().events[0];
      expect(first).toEqual({
        event_id: 'e059',
        category: EVENT_CATEGORIES[59 % 3],
        created_at: new Date(NOW - 3_600_000 + 2).toISOString(),
        payload: { job_id: 'job-59', machine_type: 'GPU-H100', actor: { nickname: 'alice' } },
      });
    });

    it('filters by repeated or comma-separated categories and by time', async () => {
      const [c0, c1] = EVENT_CATEGORIES;
      const repeated = (
        await get('serverlessListAppEvents', `${EVENTS}?category=${c0}&category=${c1}&limit=1000`)
      ).json();
      const comma = (
        await get('serverlessListAppEvents', `${EVENTS}?category=${c0},${c1}&limit=1000`)
      ).json();
      expect(repeated.events).toHaveLength(40);
      expect(comma.events).toEqual(repeated.events);
      const early = (
        await get(
          'serverlessListAppEvents',
          `${EVENTS}?end=${new Date(NOW - 3_600_000 + 1).toISOString()}&limit=1000`,
        )
      ).json();
      expect(early.events).toHaveLength(20);
      expect((await get('serverlessListAppEvents', `${EVENTS}?category=nope`)).statusCode).toBe(400);
      expect((await get('serverlessListAppEvents', `${EVENTS}?limit=1001`)).statusCode).toBe(400);
      expect((await get('serverlessListAppEvents', `${EVENTS}?cursor=bad`)).statusCode).toBe(400);
    });
  });

  describe('revisions', () => {
    it('pages newest first and marks the current revision', async () => {
      const p1 = (
        await get('serverlessListAppRevisions', '/v1/serverless/apps/alice/echo/revisions?limit=2')
      ).json();
      expect(p1.revisions.map((r: { revision_id: string }) => r.revision_id)).toEqual([
        'alice-echo-r4',
        'alice-echo-r3',
      ]);
      expect(p1.revisions[0]).toEqual({
        revision_id: 'alice-echo-r4',
        created_at: '2026-01-01T00:00:00.000Z',
        is_current: true,
        message: null,
        annotations: { GIT_SHA: 'sha4' },
        status: 'deployed',
        deployed_by: 'alice',
      });
      expect(p1.revisions[1]).toMatchObject({ is_current: false, message: 'deploy 3', annotations: null });
      const p2 = (
        await get(
          'serverlessListAppRevisions',
          `/v1/serverless/apps/alice/echo/revisions?limit=2&cursor=${p1.next_cursor}`,
        )
      ).json();
      const p3 = (
        await get(
          'serverlessListAppRevisions',
          `/v1/serverless/apps/alice/echo/revisions?limit=2&cursor=${p2.next_cursor}`,
        )
      ).json();
      expect([...p2.revisions, ...p3.revisions].map((r: { revision_id: string }) => r.revision_id)).toEqual([
        'alice-echo-r2',
        'alice-echo-r1',
        'alice-echo-r0',
      ]);
      expect(p3).toMatchObject({ next_cursor: null, has_more: false });
      const page2 = (
        await get(
          'serverlessListAppRevisions',
          '/v1/serverless/apps/alice/echo/revisions?limit=2&cursor=Mg==',
        )
      ).json();
      expect(page2.revisions).toEqual(p2.revisions);
      expect(
        (await get('serverlessListAppRevisions', '/v1/serverless/apps/alice/echo/revisions?limit=101'))
          .statusCode,
      ).toBe(400);
    });
  });

  describe('tenant isolation', () => {
    it('answers 403 to another owner and 404 for unknown apps on every operation', async () => {
      for (const [op, path] of [
        ['serverlessGetRunnerHistory', 'runners/history'],
        ['serverlessListAppEvents', 'events'],
        ['serverlessListAppRevisions', 'revisions'],
      ]) {
        const denied = await get(op!, `/v1/serverless/apps/alice/echo/${path}`, bob);
        expect(denied.statusCode).toBe(403);
        expect(denied.body).not.toContain('alice-echo');
        expect((await get(op!, `/v1/serverless/apps/alice/nope/${path}`)).statusCode).toBe(404);
        expect((await get(op!, `/v1/serverless/apps/bob/secret/${path}`, bob)).statusCode).toBe(200);
      }
      const bobHistory = (
        await get('serverlessGetRunnerHistory', '/v1/serverless/apps/bob/secret/runners/history', bob)
      ).json();
      expect(bobHistory.history.every((h: { running: number }) => h.running === 0)).toBe(true);
      const bobEvents = (
        await get('serverlessListAppEvents', '/v1/serverless/apps/bob/secret/events', bob)
      ).json();
      expect(bobEvents.events).toEqual([]);
    });
  });
});
