import type { LogLine } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpApp } from '../../http/app.js';
import { createStreamSlots } from '../../http/stream-slots.js';
import { createLogBus } from '../../runners/log-bus.js';
import { falViolations } from '../apps/testing/fal-oracle.test-helper.js';
import { addKey, insertLogs, openTestDb, type TestDb, testApp } from '../apps/testing/harness.test-helper.js';
import { describeOnBackends, openSyncedReads, type SyncedReads } from '../testing/backends.test-helper.js';
import { resolveLogFilter } from './filter.js';
import { compileLogMatcher } from './match.js';
import { registerLogsRoutes } from './routes.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
let t: TestDb;
let pool: SyncedReads;
let app: HttpApp;
let alice: string;
let bob: string;
let all: LogLine[];

function fixtureLines(): Partial<LogLine>[] {
  const lines: Partial<LogLine>[] = [];
  const levels = ['debug', 'info', 'warn', 'error'];
  for (let i = 0; i < 40; i++) {
    lines.push({
      ts: T0 + i * 1000,
      owner: 'alice',
      app: i % 2 ? 'echo' : 'painter',
      revision: i < 20 ? 'rev-1' : 'rev-2',
      level: levels[i % 4],
      message: i % 5 === 0 ? `Loading Model shard ${i}` : `step ${i} done 50%_off`,
      labels: {
        source: i % 7 === 0 ? 'gateway' : 'stdout',
        fal_job_id: `job-${i % 3}`,
        fal_request_id: `req-${i % 4}`,
        ...(i % 10 === 9 ? { traceback: 'true' } : {}),
        ...(i % 6 === 0 ? { run_source: 'cron' } : {}),
        ...(i % 3 === 0 ? { zone: 'eu' } : i % 3 === 1 ? { zone: 'us' } : {}),
      },
    });
  }
  lines.push({
    ts: T0 + 5000,
    owner: 'bob',
    app: 'echo',
    message: 'Loading Model secret of bob',
    labels: {},
  });
  return lines;
}

// The lines are seeded into a SQLite file; on PostgreSQL every read first mirrors that file.
describeOnBackends('logs history', (backend) => {
  beforeAll(async () => {
    t = openTestDb();
    all = insertLogs(t.db, fixtureLines());
    alice = addKey(t.db, 'alice').auth;
    bob = addKey(t.db, 'bob').auth;
    app = testApp(t.db);
    pool = await openSyncedReads(backend, t.path);
    registerLogsRoutes(app, {
      reads: pool.logs,
      bus: createLogBus(),
      flushLogs: async () => {},
      streams: createStreamSlots(2),
      clock: () => T0 + 3_600_000,
    });
  });
  afterAll(async () => {
    await app.close();
    await pool.close();
    t.close();
  });

  async function history(query: string, body?: unknown, auth = alice) {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/serverless/logs/history?${query}`,
      headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.statusCode === 200) expect(falViolations('serverlessLogsHistory', res)).toEqual([]);
    return res;
  }

  /** Every alice line the in-memory matcher accepts for the query, newest first: the expected answer. */
  function expected(query: Record<string, string | string[]>, body: unknown[] = []) {
    const q = { ...query, traceback: query.traceback === 'true' } as never;
    const f = resolveLogFilter(q, body as never, 'alice', T0 + 3_600_000);
    const m = compileLogMatcher(f);
    return all
      .filter((l) => l.owner === 'alice' && m(l))
      .sort((a, b) => b.ts - a.ts || b.id! - a.id!)
      .map((l) => l.message);
  }

  describe('POST /v1/serverless/logs/history', () => {
    it('answers newest first in fal shape, hiding traceback lines by default', async () => {
      const res = await history('limit=3');
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.items).toHaveLength(3);
      expect(body.items[0]).toEqual({
        timestamp: '2026-03-01T12:00:38.000Z',
        level: 'warn',
        message: 'step 38 done 50%_off',
        app: 'painter',
        revision: 'rev-2',
        labels: { source: 'stdout', fal_job_id: 'job-2', fal_request_id: 'req-2' },
      });
      expect(body.has_more).toBe(true);
      expect(typeof body.next_cursor).toBe('string');
    });

    const cases: [string, Record<string, string | string[]>, unknown[]?][] = [
      ['level minimum', { level: 'WARNING' }],
      ['level error', { level: 'error' }],
      ['search case-insensitive', { search: 'loading model' }],
      ['search with LIKE wildcards is literal', { search: '50%_' }],
      ['app_id comma list', { app_id: ['alice/echo,alice/painter'] }],
      ['app_id single', { app_id: ['alice/painter'] }],
      ['revision', { revision: 'rev-2' }],
      ['job_id', { job_id: 'job-1' }],
      ['request_id', { request_id: 'req-2' }],
      ['run_source gateway', { run_source: 'gateway' }],
      ['run_source cron', { run_source: 'cron' }],
      ['run_source grpc-register', { run_source: 'grpc-register' }],
      ['traceback included', { traceback: 'true' }],
      [
        'start/end window',
        { start: new Date(T0 + 10_000).toISOString(), end: new Date(T0 + 20_000).toISOString() },
      ],
      ['label equals (default)', {}, [{ key: 'zone', value: 'eu' }]],
      ['label in', {}, [{ key: 'zone', value: ['eu', 'us'], condition_type: 'in' }]],
      ['label not_equals keeps unlabelled', {}, [{ key: 'zone', value: 'eu', condition_type: 'not_equals' }]],
      ['label not_in', {}, [{ key: 'zone', value: ['eu', 'us'], condition_type: 'not_in' }]],
      [
        'labels combined',
        { level: 'info' },
        [
          { key: 'fal_job_id', value: 'job-2' },
          { key: 'zone', value: 'us', condition_type: 'not_equals' },
        ],
      ],
    ];

    for (const [name, query, body] of cases) {
      it(`filters: ${name}`, async () => {
        const qs = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) for (const x of [v].flat()) qs.append(k, x);
        qs.set('limit', '1000');
        qs.set('start', (query.start as string) ?? new Date(T0 - 1000).toISOString());
        const res = await history(qs.toString(), body);
        expect(res.statusCode).toBe(200);
        const got = res.json().items.map((i: { message: string }) => i.message);
        const want = expected({ ...query, start: qs.get('start')! }, body);
        expect(got).toEqual(want);
        expect(got.length).toBeGreaterThan(0);
        expect(got.length).toBeLessThanOrEqual(40);
      });
    }

    it('accepts repeated app_id and an empty JSON body', async () => {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/serverless/logs/history?app_id=alice/echo&app_id=painter&start=${T0 - 1}&limit=1000`.replace(
          `${T0 - 1}`,
          new Date(T0 - 1).toISOString(),
        ),
        headers: { authorization: alice, 'content-type': 'application/json' },
        payload: '',
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toHaveLength(36);
    });

    it('rejects bad input with 400', async () => {
      for (const q of [
        'level=loud',
        'limit=0',
        'limit=1001',
        'start=yesterday',
        'cursor=zz',
        'app_id=a/b/c',
      ]) {
        expect((await history(q)).statusCode, q).toBe(400);
      }
      const many = Array.from({ length: 51 }, (_, i) => `alice/a${i}`).join(',');
      expect((await history(`app_id=${many}`)).statusCode).toBe(400);
      expect(
        (await history('', [{ key: 'zone', value: ['eu', 'us'], condition_type: 'equals' }])).statusCode,
      ).toBe(400);
      expect((await history('', [{ key: 'zone', value: 'eu', extra: 1 }])).statusCode).toBe(400);
      expect((await history('', { key: 'zone', value: 'eu' })).statusCode).toBe(400);
    });

    it('isolates tenants: 403 for another owner app_id, never their lines', async () => {
      const denied = await history('app_id=alice/echo', undefined, bob);
      expect(denied.statusCode).toBe(403);
      expect(denied.json().error.type).toBe('authorization_error');
      const own = await history(`start=${new Date(T0 - 1000).toISOString()}&limit=1000`, undefined, bob);
      expect(own.json().items.map((i: { message: string }) => i.message)).toEqual([
        'Loading Model secret of bob',
      ]);
      const search = await history(`search=secret&start=${new Date(T0 - 1000).toISOString()}`);
      expect(search.json().items).toEqual([]);
      expect((await history('', undefined, 'Key nope:nope')).statusCode).toBe(401);
    });
  });

  describe('history cursor', () => {
    it('walks many equal timestamps across pages without loss or repeats', async () => {
      const u = openTestDb();
      const tsA = T0 + 7_777;
      insertLogs(
        u.db,
        Array.from({ length: 250 }, (_, i) => ({
          ts: i < 230 ? tsA : tsA - 1,
          owner: 'carol',
          message: `m${i}`,
        })),
      );
      const carol = addKey(u.db, 'carol').auth;
      const a = testApp(u.db);
      const p = await openSyncedReads(backend, u.path, 1);
      await p.logs.firstIdFrom({ owner: 'nobody', start: 0 }); // wait for the worker to start
      registerLogsRoutes(a, {
        reads: p.logs,
        bus: createLogBus(),
        flushLogs: async () => {},
        streams: createStreamSlots(1),
        clock: () => T0 + 60_000,
      });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const qs: string = `limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await a.inject({
          method: 'POST',
          url: `/v1/serverless/logs/history?${qs}`,
          headers: { authorization: carol },
        });
        const body = res.json();
        expect(body.has_more).toBe(body.next_cursor !== null);
        seen.push(...body.items.map((i: { message: string }) => i.message));
        cursor = body.next_cursor;
        // Lines arriving while paging (newer than the first page) must not disturb the walk.
        if (pages++ === 2) insertLogs(u.db, [{ ts: tsA + 1, owner: 'carol', message: 'late' }]);
      } while (cursor);
      expect(seen).toHaveLength(250);
      expect(new Set(seen).size).toBe(250);
      expect(seen.slice(-20).every((m) => Number(m.slice(1)) >= 230)).toBe(true);
      // fal's own cursor form (a timestamp, exclusive) is accepted too.
      const res = await a.inject({
        method: 'POST',
        url: `/v1/serverless/logs/history?limit=1000&cursor=${new Date(tsA).toISOString()}`,
        headers: { authorization: carol },
      });
      expect(res.json().items).toHaveLength(20);
      await a.close();
      await p.close();
      u.close();
    });

    it('pages by timestamp: next_cursor is a timestamp that works as cursor or as end ("until")', async () => {
      const u = openTestDb();
      // Runs of lines sharing one millisecond: 3, 1, 30 (more than a page), 4, 2, 9.
      const runs = [3, 1, 30, 4, 2, 9];
      const lines = runs.flatMap((n, r) =>
        Array.from({ length: n }, (_, i) => ({ ts: T0 + r * 10, owner: 'dave', message: `r${r}-${i}` })),
      );
      insertLogs(u.db, lines);
      const dave = addKey(u.db, 'dave').auth;
      const a = testApp(u.db);
      const p = await openSyncedReads(backend, u.path, 1);
      registerLogsRoutes(a, {
        reads: p.logs,
        bus: createLogBus(),
        flushLogs: async () => {},
        streams: createStreamSlots(1),
        clock: () => T0 + 60_000,
      });
      const walk = async (param: 'cursor' | 'end') => {
        const seen: string[] = [];
        const cursors: string[] = [];
        let next: string | null = null;
        do {
          const qs: string = `limit=7&start=${new Date(T0 - 1000).toISOString()}${next ? `&${param}=${encodeURIComponent(next)}` : ''}`;
          const res = await a.inject({
            method: 'POST',
            url: `/v1/serverless/logs/history?${qs}`,
            headers: { authorization: dave },
          });
          expect(res.statusCode).toBe(200);
          expect(falViolations('serverlessLogsHistory', res)).toEqual([]);
          const body = res.json();
          const items = body.items as { message: string; timestamp: string }[];
          expect(items.length).toBeLessThanOrEqual(7);
          seen.push(...items.map((i) => i.message));
          next = body.next_cursor;
          if (next) {
            cursors.push(next);
            // Always an RFC 3339 timestamp of the page's last line.
            expect(next).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$/);
            expect(Date.parse(next)).toBe(Date.parse(items.at(-1)!.timestamp));
          }
        } while (next);
        return { seen, cursors };
      };
      const expectedOrder = lines
        .map((l, i) => ({ ...l, i }))
        .sort((x, y) => y.ts - x.ts || y.i - x.i)
        .map((l) => l.message);
      for (const param of ['cursor', 'end'] as const) {
        const { seen, cursors } = await walk(param);
        expect(seen).toEqual(expectedOrder);
        // Inside the run of 30 the cursor carries the line's rank in that millisecond (9 fraction digits).
        expect(cursors.filter((c) => /\.\d{9}Z$/.test(c)).length).toBeGreaterThan(2);
      }
      await a.close();
      await p.close();
      u.close();
    });
  });
});
