import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, encodeFalPage, falPageNumber, pageInfo } from './cursor.js';
import { PlatformError } from './errors.js';

describe('cursors', () => {
  it('round-trip a position for the same listing', () => {
    const c = encodeCursor('requests:ended_at', ['d', 1736899200000, 'a1b2']);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, 'requests:ended_at', 3)).toEqual(['d', 1736899200000, 'a1b2']);
  });

  it('refuse garbage, other listings and wrong arity with a 400', () => {
    const c = encodeCursor('requests:ended_at', [1, 'x']);
    for (const [cursor, kind, arity] of [
      ['Mg==', 'requests:ended_at', 2],
      ['not a cursor!', 'requests:ended_at', 2],
      [c, 'requests:duration', 2],
      [c, 'requests:ended_at', 3],
      [Buffer.from('[1,"k",{"a":1}]').toString('base64url'), 'k', 1],
      ['', 'k', 0],
    ] as const) {
      let err: unknown;
      try {
        decodeCursor(cursor, kind, arity);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PlatformError);
      expect((err as PlatformError).status).toBe(400);
    }
  });

  it('derive has_more from next_cursor', () => {
    expect(pageInfo(null)).toEqual({ next_cursor: null, has_more: false });
    expect(pageInfo('abc')).toEqual({ next_cursor: 'abc', has_more: true });
  });

  it("read fal's page-number cursors and never mistake ours for one", () => {
    expect(falPageNumber('Mg==')).toBe(2);
    expect(falPageNumber('Mg')).toBe(2);
    expect(falPageNumber(encodeFalPage(37))).toBe(37);
    expect(encodeFalPage(2)).toBe('Mg==');
    for (const other of ['MA==', 'LTE=', 'YQ==', 'MDI=', '', encodeCursor('k', [2]), '2024-01-01T00:00:00Z'])
      expect(falPageNumber(other)).toBeNull();
    expect(() => falPageNumber(encodeFalPage(2_000_000))).toThrow(PlatformError);
  });
});
