import { DAY_MS, HOUR_MS, type LogFilter, type PlatformReads } from '@hangar/core';
import { expect, it } from 'vitest';
import { logFilterFixture } from './fixtures.js';
import { END, type ParityWorld, T0 } from './reads-world.test-helper.js';

// The log and app parity cases (same matching rules for filters, labels and search), declared by
// describeReadsParity.

/** A log filter of `acme` over the whole reads world, tracebacks left out, with `over` on top. */
export function worldLogFilter(over: Partial<LogFilter> = {}): LogFilter {
  return logFilterFixture(T0, END, { traceback: false, ...over });
}

/** Searches every engine answers as SQLite does. */
export const SEARCHES: [string, Partial<LogFilter>][] = [
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
  ['a NUL in the needle', { search: 'line\u0000' }],
];

/**
 * Pages through the log history of `f` on `got` and on the reference `want`, expecting the same pages;
 * returns how many lines there were.
 */
export async function sameLogPages(got: PlatformReads, want: PlatformReads, f: LogFilter): Promise<number> {
  let bounds: { ts: number; ns: number }[] = [];
  let lines = 0;
  for (let pages = 0; pages < 80; pages++) {
    const p = { filter: f, bounds, limit: 97 };
    const wanted = await want.logs.historyPage(p);
    const gotten = await got.logs.historyPage(p);
    expect(gotten.itemsJson).toBe(wanted.itemsJson);
    expect(gotten.next).toBe(wanted.next);
    lines += JSON.parse(wanted.itemsJson).length;
    if (!wanted.next) break;
    const ns = Number(/\.\d{3}(\d{6})Z$/.exec(wanted.next)?.[1] ?? '0');
    bounds = [{ ts: Date.parse(wanted.next), ns }];
  }
  return lines;
}

/** Declares the log and app cases over the world `w`. */
export function describeLogAndAppParity(w: ParityWorld): void {
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
    await sameLogPages(w.reads, w.sqlite, worldLogFilter(over));
  });

  it('takes the earliest of several bounds, alike', async () => {
    const bounds = [
      { ts: T0 + 2 * DAY_MS, ns: 1 },
      { ts: T0 + 2 * DAY_MS, ns: 0 },
      { ts: T0 + DAY_MS, id: 0 },
    ];
    for (const b of [bounds.slice(0, 1), bounds.slice(0, 2), bounds, [{ ts: T0 + DAY_MS, ns: 999 }]]) {
      const p = { filter: worldLogFilter(), bounds: b, limit: 5 };
      const got = await w.reads.logs.historyPage(p);
      const want = await w.sqlite.logs.historyPage(p);
      expect(got).toEqual(want);
    }
  });

  it('reads lines after an id and where a stream starts, alike', async () => {
    const filters = [worldLogFilter(), worldLogFilter({ search: 'alpha', apps: ['other'] })];
    for (const f of [...filters, worldLogFilter({ owner: 'beta' })]) {
      for (const afterId of [0, 1000, 2990, 5000]) {
        const p = { filter: f, afterId, limit: 50 };
        expect(await w.reads.logs.after(p)).toEqual(await w.sqlite.logs.after(p));
      }
    }
    for (const [owner, start] of [
      ['acme', T0 + DAY_MS],
      ['acme', T0 - DAY_MS],
      ['acme', T0 + 30_000],
      ['beta', END + DAY_MS],
      ['nobody', T0],
    ] as const) {
      expect(await w.reads.logs.firstIdFrom({ owner, start })).toBe(
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
      expect(await w.reads.apps.list(p)).toEqual(await w.sqlite.apps.list(p));
    }
    for (const p of [
      { owner: 'acme', app: 'echo' },
      { owner: 'acme', app: 'nope' },
    ]) {
      expect(await w.reads.apps.exists(p)).toBe(await w.sqlite.apps.exists(p));
    }
    const rev = { owner: 'acme', app: 'echo', limit: 1 };
    for (const p of [
      { ...rev, before: null },
      { ...rev, before: { t: T0 + 2 * HOUR_MS, k: 'acme-echo-r2' } },
      { ...rev, before: null, offset: 1 },
      { ...rev, app: 'nope', before: null },
    ]) {
      expect(await w.reads.apps.revisions(p)).toEqual(await w.sqlite.apps.revisions(p));
    }
    const ev = { owner: 'acme', app: 'echo', start: T0, end: T0 + DAY_MS, limit: 5 };
    for (const p of [
      { ...ev, categories: null, before: null },
      { ...ev, categories: ['runner_started'], before: { t: T0 + 20 * HOUR_MS, k: 'ev-040' } },
      { ...ev, categories: null, before: null, offset: 3 },
    ]) {
      expect(await w.reads.apps.events(p)).toEqual(await w.sqlite.apps.events(p));
    }
    for (const width of [60_000, HOUR_MS, DAY_MS]) {
      const p = { owner: 'acme', app: 'echo', start: T0 + 90_000, end: T0 + 2 * DAY_MS, origin: T0, width };
      expect(await w.reads.apps.runnerBuckets(p)).toEqual(await w.sqlite.apps.runnerBuckets(p));
    }
    for (const p of [
      { owner: 'acme', app: 'echo', since: T0 },
      { owner: 'acme', app: 'echo', since: T0 + 5 * DAY_MS },
      { owner: 'acme', app: 'ech', since: T0 },
    ]) {
      expect(await w.reads.apps.revisionTraffic(p)).toEqual(await w.sqlite.apps.revisionTraffic(p));
    }
  });
}
