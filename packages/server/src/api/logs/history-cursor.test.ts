import { describe, expect, it } from 'vitest';
import { cutHistoryPage, earlier, encodeHistoryCursor, parseHistoryBound } from './history-cursor.js';

const T = Date.parse('2026-03-01T12:00:00.123Z');
const row = (ts: number, id: number) => ({ ts, id });

describe('logs history cursors', () => {
  it('are the instant of the last line: its millisecond, plus its rank when the millisecond goes on', () => {
    const rows = [row(T + 2, 9), row(T + 1, 8), row(T, 7), row(T, 6)];
    const rankOf = (ts: number, id: number) => (ts === T ? id - 6 : 0);
    expect(cutHistoryPage(rows, 2, rankOf)).toEqual({
      items: rows.slice(0, 2),
      next: new Date(T + 1).toISOString(),
    });
    expect(cutHistoryPage(rows, 3, rankOf)).toEqual({
      items: rows.slice(0, 3),
      next: '2026-03-01T12:00:00.123000001Z',
    });
    expect(cutHistoryPage(rows, 4, rankOf)).toEqual({ items: rows, next: null });
    // JavaScript's Date reads the cursor as the same millisecond.
    expect(Date.parse(encodeHistoryCursor(T, 42))).toBe(T);
  });

  it('read back every form a client may send', () => {
    expect(parseHistoryBound(encodeHistoryCursor(T, 4), 'cursor')).toEqual({ ts: T, ns: 4 });
    expect(parseHistoryBound(encodeHistoryCursor(T, 0), 'cursor')).toEqual({ ts: T, ns: 0 });
    expect(parseHistoryBound('2026-03-01T12:00:00.123400Z', 'end')).toEqual({ ts: T, ns: 400_000 });
    expect(parseHistoryBound('2026-03-01T13:00:00.123+01:00', 'end')).toEqual({ ts: T, ns: 0 });
    expect(() => parseHistoryBound('nope', 'cursor')).toThrow();
    expect(earlier({ ts: T, id: 4 }, { ts: T, id: 0 })).toEqual({ ts: T, id: 0 });
    expect(earlier({ ts: T, id: 4 }, null)).toEqual({ ts: T, id: 4 });
  });
});
