import { describe, expect, it } from 'vitest';
import { serialized } from '../store/sqlite/reads/serialized.js';
import { pageBody } from './page-body.js';

describe('serialized pages', () => {
  const query = (_db: unknown, p: { rows: number[]; next: number | null }) => ({
    time_series: p.rows.map((n) => ({ bucket: `b${n}`, results: [{ n }] })),
    nextBucket: p.next,
  });

  it('serialises the result without nextBucket and adds the page fields as valid JSON', () => {
    const page = serialized(query)(null as never, { rows: [1, 2], next: 7 });
    expect(page.nextBucket).toBe(7);
    const body = pageBody(page, { next_cursor: 'abc"d', has_more: true });
    expect(JSON.parse(body)).toEqual({
      time_series: [
        { bucket: 'b1', results: [{ n: 1 }] },
        { bucket: 'b2', results: [{ n: 2 }] },
      ],
      next_cursor: 'abc"d',
      has_more: true,
    });
  });

  it('handles a result with no sections', () => {
    const page = serialized(() => ({ nextBucket: null }))(null as never, {});
    expect(JSON.parse(pageBody(page, { next_cursor: null, has_more: false }))).toEqual({
      next_cursor: null,
      has_more: false,
    });
  });
});
