import type { LogLine } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertLogs, openTestDb, type TestDb } from '../apps/testing/harness.test-helper.js';
import type { LogFilter } from './filter.js';
import { type LogRow, logsHistory } from './queries.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
let t: TestDb;
let lines: LogLine[];

function filter(search: string | null): LogFilter {
  return {
    owner: 'alice',
    start: T0 - 1,
    end: T0 + 1_000_000,
    apps: null,
    revision: null,
    runSource: null,
    traceback: true,
    search,
    levels: null,
    jobId: null,
    requestId: null,
    labels: [],
  };
}

/** Every page of a search, following the (ts, id) cursor, with a given scan budget. */
function allPages(search: string, limit: number, budget: number): number[] {
  const ids: number[] = [];
  let before: { ts: number; id: number } | null = null;
  for (;;) {
    const rows: LogRow[] = logsHistory(t.db, { filter: filter(search), before, limit }, budget);
    const page = rows.slice(0, limit);
    ids.push(...page.map((r) => r.id));
    if (rows.length <= limit) return ids;
    const last = page[page.length - 1];
    before = { ts: last.ts, id: last.id };
  }
}

beforeAll(() => {
  t = openTestDb();
  const input: Partial<LogLine>[] = [];
  // Several lines share a timestamp so the id tiebreak matters; "Needle" is rare and mostly old.
  for (let i = 0; i < 120; i++) {
    const rare = i % 17 === 3 || i === 118;
    input.push({
      ts: T0 + Math.floor(i / 3) * 1000,
      owner: i % 10 === 9 ? 'bob' : 'alice',
      message: rare ? `found a Needle ${i}` : `plain 50%_ line ${i}`,
    });
  }
  lines = insertLogs(t.db, input);
});

afterAll(() => t?.close());

describe('logsHistory search', () => {
  const expected = (pred: (m: string) => boolean) =>
    lines
      .filter((l) => l.owner === 'alice' && pred(l.message))
      .sort((a, b) => b.ts - a.ts || b.id - a.id)
      .map((l) => l.id);

  it.each([1, 2, 5, 10, 1000])('finds every rare match across pages with scan budget %i', (budget) => {
    const want = expected((m) => m.toLowerCase().includes('needle'));
    expect(want.length).toBeGreaterThan(4);
    for (const limit of [1, 2, 3, 50]) expect(allPages('nEEdle', limit, budget)).toEqual(want);
  });

  it.each([1, 7, 1000])('pages common matches in (ts, id) order with scan budget %i', (budget) => {
    const want = expected((m) => m.includes('50%_'));
    for (const limit of [4, 25]) expect(allPages('50%_', limit, budget)).toEqual(want);
  });

  it('returns nothing when nothing matches', () => {
    expect(allPages('absent', 10, 3)).toEqual([]);
  });
});
