import type { LogFilter, LogLine } from '@hangar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  insertLogs,
  openTestDb,
  type StoredLogLine,
  type TestDb,
} from '../../../api/apps/testing/harness.test-helper.js';
import { logFilterFixture } from '../../fixtures.js';
import { BACKFILL_SKEW_MS, type LogRow } from '../../reads-shared/log-rows.js';
import { logsFirstIdFrom, logsHistory, SEARCH_SCAN_BUDGET } from './logs.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
let t: TestDb;
let lines: StoredLogLine[];

function filter(search: string | null, start = T0 - 1, end = T0 + 1_000_000): LogFilter {
  return logFilterFixture(start, end, { owner: 'alice', search });
}

/** Every page of a search, following the (ts, id) cursor, with a given scan budget. */
function allPages(search: string, limit: number, budget: number, f = filter(search), db = t.db): number[] {
  const ids: number[] = [];
  let before: { ts: number; id: number } | null = null;
  for (;;) {
    const rows: LogRow[] = logsHistory(db, { filter: f, before, limit }, budget);
    const page = rows.slice(0, limit);
    ids.push(...page.map((r) => r.id));
    if (rows.length <= limit) return ids;
    // More rows than the limit: the page is full, so it has a last row.
    const last = page[page.length - 1]!;
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

/** A deterministic pseudo-random sequence in [0, 1). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/** SQLite's `lower()` folds ASCII letters only; search is case-insensitive in the same way. */
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

describe('logsHistory search through the trigram index', () => {
  let big: TestDb;
  let all: StoredLogLine[];
  const RARE = [
    'ECC error on GPU 7',
    'rate 50%_off applied',
    'ошибка Ünïcødé ✓',
    'launch 🚀 done',
    'field "prompt" is required',
  ];

  beforeAll(() => {
    big = openTestDb();
    const rnd = random(7);
    const input: Partial<LogLine>[] = [];
    // Ids follow arrival; timestamps trail by up to 50 s (within BACKFILL_SKEW_MS), so (ts, id) order
    // differs from id order. Many lines share a timestamp.
    for (let i = 0; i < 6000; i++) {
      const roll = rnd();
      let message = `Completed request ${i} in ${Math.floor(rnd() * 900)} ms`;
      if (roll < 0.01) message = RARE[i % RARE.length] as string;
      else if (roll < 0.02) message = `rate 50 off, GPU 7 error ECC ${i}`; // the trigrams, not the needles
      input.push({
        ts: T0 + i * 1000 - Math.floor(rnd() * 50) * 1000,
        owner: rnd() < 0.3 ? 'bob' : 'alice',
        message: rnd() < 0.5 ? message : message.toUpperCase(),
      });
    }
    all = insertLogs(big.db, input);
  });

  afterAll(() => big?.close());

  const expected = (needle: string, start: number, end: number) =>
    all
      .filter((l) => l.owner === 'alice' && l.ts >= start && l.ts < end)
      .filter((l) => asciiLower(l.message).includes(asciiLower(needle)))
      .sort((a, b) => b.ts - a.ts || b.id - a.id)
      .map((l) => l.id);

  const needles = [
    'ECC error on GPU 7',
    'ecc ERROR',
    '50%_off',
    '50%_',
    'ошибка',
    'ÜNÏCØDÉ',
    'Ünïcødé ✓',
    '🚀 done',
    '"prompt"',
    'Completed request 12',
    'zzzz-nothing',
    'é',
    'ok',
  ];

  it.each(needles)('pages %j across the whole window and a middle one, at every budget', (needle) => {
    for (const [start, end] of [
      [T0 - 100_000, T0 + 7_000_000],
      [T0 + 1_000_000, T0 + 4_000_000],
    ] as const) {
      const want = expected(needle, start, end);
      for (const budget of [1, 100, SEARCH_SCAN_BUDGET]) {
        for (const limit of [1, 7, 100]) {
          expect(allPages(needle, limit, budget, filter(needle, start, end), big.db)).toEqual(want);
        }
      }
    }
  });

  it('answers needles the index cannot serve (NUL, lone surrogate) by scanning', () => {
    for (const needle of ['GPU\u00007', 'GPU \uD800 7']) {
      expect(allPages(needle, 50, 1, filter(needle, T0 - 100_000, T0 + 7_000_000), big.db)).toEqual([]);
    }
  });

  it('finds rare needles (a page needs the index past the scanned lines)', () => {
    expect(expected('ECC error on GPU 7', T0 - 100_000, T0 + 7_000_000).length).toBeGreaterThan(3);
    expect(expected('ошибка', T0 - 100_000, T0 + 7_000_000).length).toBeGreaterThan(3);
    expect(expected('50%_', T0 - 100_000, T0 + 7_000_000).length).toBeGreaterThan(3);
  });

  it('logsFirstIdFrom returns an id below every line of the owner stamped at or after start', () => {
    for (const start of [T0 - 100_000, T0, T0 + 30_000, T0 + 2_345_000, T0 + 5_990_000]) {
      const first = logsFirstIdFrom(big.db, { owner: 'alice', start });
      const later = all.filter((l) => l.owner === 'alice' && l.ts >= start).map((l) => l.id);
      expect(Math.min(...later)).toBeGreaterThan(first);
      // Tight enough to be useful: not far below the first such line.
      expect(later.length === 0 || Math.min(...later) - first < 200).toBe(true);
    }
    const maxId = Math.max(...all.map((l) => l.id));
    expect(logsFirstIdFrom(big.db, { owner: 'alice', start: T0 + 10_000_000 })).toBe(maxId);
    expect(logsFirstIdFrom(big.db, { owner: 'nobody', start: T0 })).toBe(maxId);
    expect(BACKFILL_SKEW_MS).toBeGreaterThan(50_000);
  });
});
