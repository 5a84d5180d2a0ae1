import { DAY_MS } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { slices } from './logs.js';

describe('log search slices', () => {
  it('cuts a window at UTC midnights, newest first, in days of 1, 1, 2, 4, … that cover it once', () => {
    const start = 100 * DAY_MS + 5_000;
    const end = 131 * DAY_MS + 7_000;
    const got = slices(start, end);
    expect(got.slice(0, 4)).toEqual([
      [131 * DAY_MS, end],
      [130 * DAY_MS, 131 * DAY_MS],
      [128 * DAY_MS, 130 * DAY_MS],
      [124 * DAY_MS, 128 * DAY_MS],
    ]);
    expect(got.at(-1)).toEqual([start, 116 * DAY_MS]);
    for (let i = 1; i < got.length; i++) expect(got[i]![1]).toBe(got[i - 1]![0]);
  });

  it('keeps a window inside one day whole, and has nothing for an empty one', () => {
    expect(slices(DAY_MS + 1, DAY_MS + 9)).toEqual([[DAY_MS + 1, DAY_MS + 9]]);
    expect(slices(5, 5)).toEqual([]);
  });
});
