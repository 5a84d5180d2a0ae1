import { DAY_MS, type LogFilter } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { postgresMissing } from '../../../test-services/postgres.test-helper.js';
import { runPostgresMaintenance } from '../partitions.js';
import { createPostgresReads } from './index.js';
import { DAYS, T0 } from './seed.test-helper.js';
import { useSeededWorld } from './world.test-helper.js';

// Log history, search, backfill and stream start on PostgreSQL answer as the SQLite queries do, with the
// pg_trgm index and without it.

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
  ['a non-ASCII needle (ASCII case folding only)', { search: 'éclair' }],
  ['an absent needle', { search: 'nowhere to be found' }],
  ['a NUL in the needle', { search: 'line\u0000' }],
];

type Bounds = { ts: number; ns: number }[];

describe.skipIf(postgresMissing !== null)('PostgreSQL log reads', () => {
  const w = useSeededWorld();

  async function samePages(f: LogFilter, reads = w.reads): Promise<number> {
    let bounds: Bounds = [];
    let lines = 0;
    for (let pages = 0; pages < 40; pages++) {
      const p = { filter: f, bounds, limit: 97 };
      const want = await w.sqlite.logs.historyPage(p);
      const got = await reads.logs.historyPage(p);
      expect(JSON.parse(got.itemsJson)).toEqual(JSON.parse(want.itemsJson));
      expect(got.next).toEqual(want.next);
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
    ...SEARCHES,
  ])('pages through log history (%s) alike', async (_, over) => {
    await samePages(filter(over));
  });

  it('reads lines after an id and where a stream starts, alike', async () => {
    for (const f of [filter(), filter({ search: 'alpha', apps: ['other'] }), filter({ owner: 'beta' })]) {
      for (const afterId of [0, 1000, 2990]) {
        const p = { filter: f, afterId, limit: 50 };
        expect(await w.reads.logs.after(p)).toEqual(await w.sqlite.logs.after(p));
      }
    }
    for (const [owner, start] of [
      ['acme', T0 + DAY_MS],
      ['acme', T0 - DAY_MS],
      ['beta', END + DAY_MS],
      ['nobody', T0],
    ] as const) {
      expect(await w.reads.logs.firstIdFrom({ owner, start })).toBe(
        await w.sqlite.logs.firstIdFrom({ owner, start }),
      );
    }
  });

  it('searches alike once the days have their daily partitions (sliced search)', async () => {
    const one = await w.world.pool.connect();
    try {
      const session = {
        query: async (t: string, p?: readonly unknown[]) => (await one.query(t, p as unknown[])).rows,
      };
      for (let now = T0 - 7 * DAY_MS; now < END + 7 * DAY_MS; now += 7 * DAY_MS) {
        await runPostgresMaintenance(session, now, { requests: 0, logs: 0, samples: 0 });
      }
    } finally {
      one.release();
    }
    const left = await w.world.pool.query('SELECT count(*)::int AS n FROM logs_default');
    expect(left.rows[0].n).toBe(0);
    let found = 0;
    for (const [, over] of SEARCHES) found += await samePages(filter(over));
    found += await samePages(filter({ search: 'line', start: T0 + 3 * DAY_MS + 5, end: END - DAY_MS / 3 }));
    expect(found).toBeGreaterThan(100);
  });

  it('searches alike without pg_trgm, saying so once', async () => {
    await w.world.pool.query('DROP INDEX logs_message_trgm');
    const warnings: string[] = [];
    const plain = createPostgresReads(w.world.pool, { warn: (m) => warnings.push(m) });
    let found = 0;
    for (const [, over] of SEARCHES) found += await samePages(filter(over), plain);
    expect(found).toBeGreaterThan(100);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/pg_trgm/);
    expect(w.warnings).toEqual([]);
  });
});
