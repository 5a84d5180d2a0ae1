import { DAY_MS, HOUR_MS, type LogFilter } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { DAYS, T0 } from '../../postgres/reads/seed.test-helper.js';
import { useTwinWorld } from './world.test-helper.js';

// The memory log and app reads answer exactly as the SQLite reads do (same matching rules for filters,
// labels and search), over one world written through the write ports of both engines.

const END = T0 + DAYS * DAY_MS;

function filter(over: Partial<LogFilter> = {}): LogFilter {
  return {
    owner: 'acme',
    start: T0,
    end: END,
    apps: null,
    revision: null,
    runSource: null,
    traceback: false,
    search: null,
    levels: null,
    jobId: null,
    requestId: null,
    labels: [],
    ...over,
  };
}

const SEARCHES: [string, Partial<LogFilter>][] = [
  ['a common needle', { search: 'line' }],
  ['a needle in another case', { search: 'BRAVO CH' }],
  ['a rare needle', { search: 'line 2999' }],
  ['LIKE wildcards in the needle', { search: '50%off' }],
  ['an underscore needle', { search: 'a_9' }],
  ['a backslash needle', { search: 'k\\sl' }],
  ['a short needle', { search: 'ta' }],
  ['a non-ASCII needle in another case (ASCII folding only)', { search: 'éclair' }],
  ['a non-ASCII needle in its case', { search: 'ÉCLAIR' }],
  ['an absent needle', { search: 'nowhere to be found' }],
];

describe('memory log and app reads answer as SQLite', () => {
  const w = useTwinWorld();

  async function samePages(f: LogFilter): Promise<number> {
    let bounds: { ts: number; ns: number }[] = [];
    let lines = 0;
    for (let pages = 0; pages < 80; pages++) {
      const p = { filter: f, bounds, limit: 97 };
      const want = await w.sqlite.logs.historyPage(p);
      const got = await w.memory.logs.historyPage(p);
      expect(got.itemsJson).toBe(want.itemsJson);
      expect(got.next).toBe(want.next);
      lines += JSON.parse(want.itemsJson).length;
      if (!want.next) break;
      const ns = Number(/\.\d{3}(\d{6})Z$/.exec(want.next)?.[1] ?? '0');
      bounds = [{ ts: Date.parse(want.next), ns }];
    }
    return lines;
  }

  it.each<[string, Partial<LogFilter>]>([
    ['everything', {}],
    ['apps, levels and a revision', { apps: ['echo'], levels: ['warn', 'error'], revision: 'rev1' }],
    ['tracebacks and a run source', { traceback: true, runSource: 'grpc-run' as const }],
    ['gateway run source', { runSource: 'gateway' as const }],
    ['registered run source', { runSource: 'grpc-register' as const }],
    [
      'labels',
      {
        labels: [
          { key: 'zone', op: 'in' as const, values: ['eu', 'us'] },
          { key: 'source', op: 'ne' as const, values: ['gateway'] },
        ],
      },
    ],
    [
      'missing labels',
      {
        labels: [
          { key: 'zone', op: 'nin' as const, values: ['eu'] },
          { key: 'fal_job_id', op: 'eq' as const, values: ['run1'] },
        ],
      },
    ],
    ['a request', { requestId: 'req-0007' }],
    ['a job', { jobId: 'run1', apps: ['other'] }],
    ['another owner', { owner: 'beta' }],
    ['an inner window', { start: T0 + 3 * DAY_MS + 5, end: END - DAY_MS / 3 }],
    ...SEARCHES,
  ])('pages through log history (%s) alike', async (_, over) => {
    await samePages(filter(over));
  });

  it('takes the earliest of several bounds, alike', async () => {
    const bounds = [
      { ts: T0 + 2 * DAY_MS, ns: 1 },
      { ts: T0 + 2 * DAY_MS, ns: 0 },
      { ts: T0 + DAY_MS, id: 0 },
    ];
    for (const b of [bounds.slice(0, 1), bounds.slice(0, 2), bounds, [{ ts: T0 + DAY_MS, ns: 999 }]]) {
      const p = { filter: filter(), bounds: b, limit: 5 };
      const got = await w.memory.logs.historyPage(p);
      const want = await w.sqlite.logs.historyPage(p);
      expect(got).toEqual(want);
    }
  });

  it('reads lines after an id and where a stream starts, alike', async () => {
    for (const f of [filter(), filter({ search: 'alpha', apps: ['other'] }), filter({ owner: 'beta' })]) {
      for (const afterId of [0, 1000, 2990, 5000]) {
        const p = { filter: f, afterId, limit: 50 };
        expect(await w.memory.logs.after(p)).toEqual(await w.sqlite.logs.after(p));
      }
    }
    for (const [owner, start] of [
      ['acme', T0 + DAY_MS],
      ['acme', T0 - DAY_MS],
      ['acme', T0 + 30_000],
      ['beta', END + DAY_MS],
      ['nobody', T0],
    ] as const) {
      expect(await w.memory.logs.firstIdFrom({ owner, start })).toBe(
        await w.sqlite.logs.firstIdFrom({ owner, start }),
      );
    }
  });

  it('lists apps, revisions, events, runner buckets and revision traffic alike', async () => {
    for (const p of [
      { owner: 'acme', environment: 'main', search: null },
      { owner: 'acme', environment: 'staging', search: null },
      { owner: 'acme', environment: 'main', search: 'OES' },
      { owner: 'nobody', environment: 'main', search: null },
    ]) {
      expect(await w.memory.apps.list(p)).toEqual(await w.sqlite.apps.list(p));
    }
    for (const p of [
      { owner: 'acme', app: 'echo' },
      { owner: 'acme', app: 'nope' },
    ]) {
      expect(await w.memory.apps.exists(p)).toBe(await w.sqlite.apps.exists(p));
    }
    const rev = { owner: 'acme', app: 'echo', limit: 1 };
    for (const p of [
      { ...rev, before: null },
      { ...rev, before: { t: T0 + 2 * HOUR_MS, k: 'acme-echo-r2' } },
      { ...rev, before: null, offset: 1 },
      { ...rev, app: 'nope', before: null },
    ]) {
      expect(await w.memory.apps.revisions(p)).toEqual(await w.sqlite.apps.revisions(p));
    }
    const ev = { owner: 'acme', app: 'echo', start: T0, end: T0 + DAY_MS, limit: 5 };
    for (const p of [
      { ...ev, categories: null, before: null },
      { ...ev, categories: ['runner_started'], before: { t: T0 + 20 * HOUR_MS, k: 'ev-040' } },
      { ...ev, categories: null, before: null, offset: 3 },
    ]) {
      expect(await w.memory.apps.events(p)).toEqual(await w.sqlite.apps.events(p));
    }
    for (const width of [60_000, HOUR_MS, DAY_MS]) {
      const p = { owner: 'acme', app: 'echo', start: T0 + 90_000, end: T0 + 2 * DAY_MS, origin: T0, width };
      expect(await w.memory.apps.runnerBuckets(p)).toEqual(await w.sqlite.apps.runnerBuckets(p));
    }
    for (const p of [
      { owner: 'acme', app: 'echo', since: T0 },
      { owner: 'acme', app: 'echo', since: T0 + 5 * DAY_MS },
      { owner: 'acme', app: 'ech', since: T0 },
    ]) {
      expect(await w.memory.apps.revisionTraffic(p)).toEqual(await w.sqlite.apps.revisionTraffic(p));
    }
  });
});
