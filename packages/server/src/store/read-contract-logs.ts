import {
  type HistoryBound,
  HOUR_MS,
  type LogFilter,
  type LogLine,
  MINUTE_MS,
  type Stores,
} from '@hangar/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { runnerFixture } from './fixtures.js';
import { done, logFilter, putApp, seedRequest, T0 } from './read-contract-fixtures.js';

/** The logs and apps reads of the contract, on the stores `get` gives (opened by the caller per test). */
export function describeLogAndAppReads(get: () => Stores): void {
  let s: Stores;
  beforeEach(() => {
    s = get();
  });

  describe('logs', () => {
    const line = (i: number, message: string, over: Partial<LogLine> = {}): LogLine => ({
      ts: T0 + Math.floor(i / 3) * 1000,
      owner: 'acme',
      app: i % 2 ? 'echo' : 'other',
      revision: 'rev1',
      level: i % 4 === 0 ? 'error' : 'info',
      message,
      labels: { fal_request_id: `q${i % 5}`, source: 'stdout' },
      ...over,
    });
    const MESSAGES = [
      'Completed request in 12 ms',
      'ECC error on GPU 7',
      'rate 50%_off',
      'ошибка ÜNÏCØDÉ',
      'launch 🚀 done',
    ];
    let lines: LogLine[];
    beforeEach(async () => {
      lines = Array.from({ length: 60 }, (_, i) => line(i, `${MESSAGES[i % MESSAGES.length]} #${i}`));
      lines.push(line(99, 'other owner ECC error', { owner: 'bob' }));
      s.logs.append(lines);
      await s.flush();
    });

    const history = async (f: LogFilter, limit: number) => {
      const out: string[] = [];
      const bounds: HistoryBound[] = [];
      for (let n = 0; n < 100; n++) {
        const page = await s.reads.logs.historyPage({ filter: f, bounds, limit });
        out.push(...(JSON.parse(page.itemsJson) as { message: string }[]).map((e) => e.message));
        if (page.next === null) return out;
        const ms = Date.parse(page.next);
        const ns = Number(/\.\d{3}(\d{6})Z$/.exec(page.next)?.[1] ?? 0);
        bounds.splice(0, 1, { ts: ms, ns });
      }
      return out;
    };
    const expected = (keep: (l: LogLine) => boolean) =>
      lines
        .map((l, i) => ({ l, i }))
        .filter(({ l }) => l.owner === 'acme' && keep(l))
        .sort((a, b) => b.l.ts - a.l.ts || b.i - a.i)
        .map(({ l }) => l.message);

    it('pages history newest first by timestamp then id, without loss or repeat', async () => {
      expect(await history(logFilter('acme'), 7)).toEqual(expected(() => true));
      expect(await history(logFilter('acme', { apps: ['echo'], levels: ['error'] }), 4)).toEqual(
        expected((l) => l.app === 'echo' && l.level === 'error'),
      );
    });

    const ascii = (v: string) => v.replace(/[A-Z]/g, (c) => c.toLowerCase());
    it.each([
      'ECC error on GPU 7',
      'ecc ERROR',
      '50%_off',
      '50%_',
      'ошибка',
      'ÜNÏCØDÉ',
      '🚀 done',
      'zzzz',
      'é',
    ])('searches %j as a case-insensitive substring', async (needle) => {
      const want = expected((l) => ascii(l.message).includes(ascii(needle)));
      expect(await history(logFilter('acme', { search: needle }), 5)).toEqual(want);
    });

    it('serves the stream backfill in id order after an id, from the first id of a window', async () => {
      const from = await s.reads.logs.firstIdFrom({ owner: 'acme', start: T0 + 10_000 });
      const after = await s.reads.logs.after({
        filter: logFilter('acme', { start: T0 + 10_000 }),
        afterId: from,
        limit: 1000,
      });
      expect(after.map((l) => l.message)).toEqual(
        lines.filter((l) => l.owner === 'acme' && l.ts >= T0 + 10_000).map((l) => l.message),
      );
      const ids = after.map((l) => l.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(after[0]!.labels).toEqual({ fal_request_id: 'q0', source: 'stdout' });
      const rest = await s.reads.logs.after({ filter: logFilter('acme'), afterId: ids[2]!, limit: 2 });
      expect(rest.map((l) => l.id)).toEqual(ids.slice(3, 5));
    });
  });

  describe('apps', () => {
    beforeEach(async () => {
      await putApp(s, 'acme', 'echo', T0 - 3000);
      await putApp(s, 'acme', 'echo', T0 - 2000);
      await putApp(s, 'acme', 'beta', T0 - 1000);
      await putApp(s, 'bob', 'echo', T0 - 1000);
      for (let i = 0; i < 5; i++) {
        s.events.append({
          eventId: `e${i}`,
          owner: 'acme',
          app: 'echo',
          category: i % 2 ? 'deployment' : 'scaling',
          createdAt: T0 + i * 1000,
          payload: { i },
        } as never);
      }
      s.samples.append(
        [0, 30_000, 60_000, 90_000].map((d, i) => ({
          ts: T0 + d,
          owner: 'acme',
          app: 'echo',
          pending: i,
          setup: 1,
          idle: 2,
          running: i * 2,
          draining: 0,
        })),
      );
      s.runners.upsertRunner(runnerFixture('ra', { revisionId: 'echo-r' }));
      s.runners.upsertRunner(runnerFixture('rb', { revisionId: 'echo-s' }));
      await seedRequest(s, 'x1', done(T0, T0 + 10, 200, { runnerId: 'ra' }));
      await seedRequest(s, 'x2', done(T0, T0 + 10, 200, { runnerId: 'rb', endpointId: 'acme/echo/v2' }));
      await seedRequest(s, 'x3', done(T0, T0 + 10, 200, { runnerId: 'rb' }));
      await seedRequest(s, 'x4', { sentAt: T0, endedAt: null });
      await s.flush();
    });

    it('lists apps of an environment by name, with search, and tells which exist', async () => {
      const list = await s.reads.apps.list({ owner: 'acme', environment: 'main', search: null });
      expect(list.map((a) => [a.name, a.manifest.name])).toEqual([
        ['beta', 'beta'],
        ['echo', 'echo'],
      ]);
      expect(
        (await s.reads.apps.list({ owner: 'acme', environment: 'main', search: 'ET' })).map((a) => a.name),
      ).toEqual(['beta']);
      expect(await s.reads.apps.list({ owner: 'acme', environment: 'staging', search: null })).toEqual([]);
      expect(await s.reads.apps.exists({ owner: 'acme', app: 'echo' })).toBe(true);
      expect(await s.reads.apps.exists({ owner: 'acme', app: 'nope' })).toBe(false);
    });

    it('pages revisions and events newest first', async () => {
      const revs = await s.reads.apps.revisions({ owner: 'acme', app: 'echo', before: null, limit: 1 });
      expect(revs.map((r) => [r.revision_id, r.is_current])).toEqual([
        [`echo-r${T0 - 2000}`, true],
        [`echo-r${T0 - 3000}`, false],
      ]);
      const next = await s.reads.apps.revisions({
        owner: 'acme',
        app: 'echo',
        before: { t: T0 - 2000, k: `echo-r${T0 - 2000}` },
        limit: 5,
      });
      expect(next.map((r) => r.revision_id)).toEqual([`echo-r${T0 - 3000}`]);
      const ev = { owner: 'acme', app: 'echo', start: T0, end: T0 + 10_000, before: null };
      const all = await s.reads.apps.events({ ...ev, categories: null, limit: 10 });
      expect(all.map((e) => e.event_id)).toEqual(['e4', 'e3', 'e2', 'e1', 'e0']);
      expect(all[0]!.payload).toEqual({ i: 4 });
      const deploys = await s.reads.apps.events({ ...ev, categories: ['deployment'], limit: 1, offset: 1 });
      expect(deploys.map((e) => e.event_id)).toEqual(['e1']);
    });

    it('buckets runner samples and counts traffic by revision', async () => {
      const buckets = await s.reads.apps.runnerBuckets({
        owner: 'acme',
        app: 'echo',
        start: T0,
        end: T0 + HOUR_MS,
        origin: T0,
        width: MINUTE_MS,
      });
      expect(buckets).toEqual([
        {
          b: 0,
          n: 2,
          max_running: 2,
          max_idle: 2,
          max_pending: 2,
          max_draining: 0,
          sum_running: 2,
          sum_idle: 4,
          sum_pending: 3,
          sum_draining: 0,
        },
        {
          b: 1,
          n: 2,
          max_running: 6,
          max_idle: 2,
          max_pending: 4,
          max_draining: 0,
          sum_running: 10,
          sum_idle: 4,
          sum_pending: 7,
          sum_draining: 0,
        },
      ]);
      expect(await s.reads.apps.revisionTraffic({ owner: 'acme', app: 'echo', since: T0 - 1 })).toEqual([
        { revision_id: 'echo-s', requests: 2 },
        { revision_id: 'echo-r', requests: 1 },
      ]);
    });
  });
}
