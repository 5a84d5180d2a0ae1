import type { MeterRecord } from '@hangar/core';
import { describe, expect, it } from 'vitest';
import { meterRows } from '../runners/metering.js';
import { type AppFilter, meterKey, unstoredMeter } from './live-usage.js';

const M = Date.UTC(2025, 2, 12, 12);
const BASE = {
  runnerId: 'r1',
  owner: 'alice',
  app: 'img',
  environment: 'main',
  machineType: 'GPU-H100',
  isSurge: false,
};
const ALL: AppFilter = { owner: 'alice', apps: null, search: null };

const row = (over: Partial<MeterRecord>): MeterRecord => ({ ...BASE, minute: M, seconds: 0, ...over });
const stored = (entries: [string, number, number][]) =>
  new Map(entries.map(([r, m, s]) => [meterKey(r, m), s]));

describe('unstoredMeter', () => {
  it('adds a live minute the store has not seen', () => {
    expect(unstoredMeter([row({ seconds: 20 })], stored([]), ALL)).toEqual([row({ seconds: 20 })]);
  });

  it('replaces the stored value of the same runner and minute instead of adding to it', () => {
    const live = [row({ seconds: 45 }), row({ runnerId: 'r2', seconds: 10 })];
    expect(unstoredMeter(live, stored([['r1', M, 40]]), ALL)).toEqual([
      row({ seconds: 5 }),
      row({ runnerId: 'r2', seconds: 10 }),
    ]);
  });

  it('adds nothing when the store is already ahead of the live rows', () => {
    expect(unstoredMeter([row({ seconds: 20 })], stored([['r1', M, 25]]), ALL)).toEqual([]);
    expect(unstoredMeter([row({ seconds: 20 })], stored([['r1', M, 20]]), ALL)).toEqual([]);
  });

  it('keeps only the owner and the apps the query asks for', () => {
    const live = [
      row({ runnerId: 'a', app: 'Image-Big', seconds: 1 }),
      row({ runnerId: 'b', app: 'txt', seconds: 2 }),
      row({ runnerId: 'c', owner: 'bob', seconds: 3 }),
    ];
    const ids = (f: Partial<AppFilter>) =>
      unstoredMeter(live, stored([]), { ...ALL, ...f }).map((r) => r.runnerId);
    expect(ids({})).toEqual(['a', 'b']);
    expect(ids({ apps: ['txt'] })).toEqual(['b']);
    expect(ids({ search: 'image' })).toEqual(['a']);
    expect(ids({ apps: ['txt'], search: 'image' })).toEqual([]);
    expect(ids({ owner: 'bob' })).toEqual(['c']);
  });

  it('with the metering rows, totals every second once wherever the store stopped', () => {
    // A runner set up 30 s into minute M, observed at M + 75 s; the store metered it up to `until`.
    const setupAt = M + 30_000;
    const now = M + 75_000;
    for (const until of [setupAt, M + 50_000, M + 60_000, M + 70_000, now]) {
      const written = meterRows(BASE, setupAt, setupAt, until);
      const live = meterRows(BASE, setupAt, until, now);
      const map = new Map(written.map((r) => [meterKey(r.runnerId, r.minute), r.seconds]));
      const total = [...written, ...unstoredMeter(live, map, ALL)].reduce((a, r) => a + r.seconds, 0);
      expect(total).toBe(45);
    }
  });
});
