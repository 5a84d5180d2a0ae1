import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAY_MS, HOUR_MS, MINUTE_MS, QuantileSketch } from '@hangar/core';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertRequests, type SeedRequest } from '../api/analytics/harness.test-helper.js';
import { openDatabase } from '../store/sqlite/open.js';
import { rebuildRollups, reconcileDayRollups, upsertRollupRows } from '../store/sqlite/rollups.js';
import { RequestRollup, type RollupInput } from './request-rollup.js';

const T0 = Date.UTC(2025, 0, 15, 10);

let dir: string;
let db: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangar-rollup-'));
  db = openDatabase(join(dir, 'hangar.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function rec(endedAt: number, over: Partial<RollupInput> = {}): RollupInput {
  return {
    endpointId: 'alice/img',
    endedAt,
    statusCode: 200,
    prepareMs: 100,
    durationMs: 1000,
    coldStart: false,
    coldBootMs: null,
    errorClass: null,
    ...over,
  };
}

interface Stored {
  span: number;
  start: number;
  request_count: number;
  success_count: number;
  user_error_count: number;
  error_count: number;
  timeout_error_count: number;
  cold_boot_count: number;
  duration_sum_ms: number;
  duration_sketch: Buffer | null;
  cold_boot_sketch: Buffer | null;
}

const stored = (span: number) =>
  db
    .prepare('SELECT * FROM request_rollups WHERE span = ? ORDER BY endpoint_id, start')
    .all(span) as Stored[];

describe('RequestRollup', () => {
  it('counts by status class, error class and cold boot per minute', () => {
    const r = new RequestRollup();
    r.observe(rec(T0 + 1000));
    r.observe(rec(T0 + 2000, { statusCode: 404 }));
    r.observe(rec(T0 + 3000, { statusCode: 504, errorClass: 'timeout' }));
    r.observe(rec(T0 + 4000, { coldStart: true, coldBootMs: 4000 }));
    r.observe(rec(T0 + 5000, { coldStart: true, coldBootMs: 300 }));
    r.observe(rec(T0 + MINUTE_MS));
    r.observe({ ...rec(0), endedAt: null });
    const rows = r.drain();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      endpoint_id: 'alice/img',
      minute: T0,
      request_count: 5,
      success_count: 3,
      user_error_count: 1,
      error_count: 1,
      timeout_error_count: 1,
      cold_boot_count: 1,
      duration_sum_ms: 5000,
    });
    expect(QuantileSketch.decode(rows[0]!.cold_boot_sketch!).quantile(0.5)).toBe(4000);
    expect(r.drain()).toEqual([]);
  });

  it('merges late rows into stored minutes and hours instead of overwriting them', () => {
    const r = new RequestRollup();
    r.observe(rec(T0 + 1000, { durationMs: 100 }));
    r.observe(rec(T0 + 5 * MINUTE_MS, { durationMs: 300 }));
    upsertRollupRows(db, r.drain());
    r.observe(rec(T0 + 2000, { durationMs: 200, statusCode: 500 }));
    upsertRollupRows(db, r.drain());
    const minutes = stored(MINUTE_MS);
    expect(minutes.map((m) => [m.start, m.request_count, m.error_count])).toEqual([
      [T0, 2, 1],
      [T0 + 5 * MINUTE_MS, 1, 0],
    ]);
    const [hour] = stored(HOUR_MS);
    expect(hour).toMatchObject({ start: T0, request_count: 3, error_count: 1, duration_sum_ms: 600 });
    const [lo, mid, hi] = QuantileSketch.decode(hour!.duration_sketch!).quantiles([0, 0.5, 1]) as number[];
    expect([lo, hi]).toEqual([100, 300]);
    expect(Math.abs(mid! - 200) / 200).toBeLessThan(0.01);
  });

  it('rebuilds from the requests table to what incremental upserts produce', () => {
    const seeds: SeedRequest[] = Array.from({ length: 300 }, (_, i) => ({
      endpoint: i % 3 ? 'alice/img' : 'alice/img/turbo',
      sentAt: T0 + i * 37_000 - 500,
      startedAt: T0 + i * 37_000 - 400,
      endedAt: T0 + i * 37_000,
      statusCode: [200, 200, 404, 502][i % 4]!,
      prepareMs: 100 + (i % 17),
      durationMs: 1000 + ((i * 7919) % 5000),
      coldStart: i % 10 === 0,
      coldBootMs: i % 10 === 0 ? 1500 + i : null,
      errorClass: i % 4 === 3 ? 'connection' : null,
    }));
    insertRequests(db, seeds);
    const live = new RequestRollup();
    for (const s of seeds) {
      live.observe({
        endpointId: s.endpoint,
        endedAt: s.endedAt!,
        statusCode: s.statusCode!,
        prepareMs: s.prepareMs!,
        durationMs: s.durationMs!,
        coldStart: s.coldStart!,
        coldBootMs: s.coldBootMs!,
        errorClass: s.errorClass!,
      });
    }
    upsertRollupRows(db, live.drain());
    const incremental = [...stored(MINUTE_MS), ...stored(HOUR_MS), ...stored(DAY_MS)];
    expect(stored(DAY_MS).reduce((n, d) => n + d.request_count, 0)).toBe(300);
    // A stale row outside the data must disappear on rebuild.
    db.prepare('UPDATE request_rollups SET request_count = 999 WHERE span = ?').run(HOUR_MS);
    expect(rebuildRollups(db, T0, T0 + 4 * HOUR_MS)).toBe(300);
    expect([...stored(MINUTE_MS), ...stored(HOUR_MS), ...stored(DAY_MS)]).toEqual(incremental);
    expect(stored(HOUR_MS).reduce((n, h) => n + h.request_count, 0)).toBe(300);
    // Day rows missing (a database from before them) or out of step are rebuilt from the hours.
    const days = stored(DAY_MS);
    db.prepare('DELETE FROM request_rollups WHERE span = ? AND endpoint_id = ?').run(DAY_MS, 'alice/img');
    db.prepare('UPDATE request_rollups SET request_count = 5 WHERE span = ?').run(DAY_MS);
    expect(reconcileDayRollups(db)).toBeGreaterThan(0);
    expect(stored(DAY_MS)).toEqual(days);
    expect(reconcileDayRollups(db)).toBe(0);
  });
});
