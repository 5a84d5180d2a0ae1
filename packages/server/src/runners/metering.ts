import type { MachineType, MeterRecord, RunnerRow } from '@hangar/core';

/** One wall-clock minute in ms. */
export const MINUTE_MS = 60_000;

/** Start (epoch ms, UTC) of the minute containing `t`. */
export function minuteOf(t: number): number {
  return t - (((t % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/** The fields of a runner's meter rows that do not change minute to minute. */
export type MeterBase = Omit<MeterRecord, 'minute' | 'seconds'>;

/**
 * Meter rows of a runner metered from `from`, for every minute touched between `since` (what was
 * already recorded) and `until`. Each row holds the runner's whole time within that minute, so writing
 * a minute again with a later `until` replaces it with the grown value.
 */
export function meterRows(base: MeterBase, from: number, since: number, until: number): MeterRecord[] {
  const rows: MeterRecord[] = [];
  for (let m = minuteOf(Math.max(from, since)); m < until; m += MINUTE_MS) {
    const start = Math.max(from, m);
    const end = Math.min(until, m + MINUTE_MS);
    if (end <= start) continue;
    rows.push({ ...base, minute: m, seconds: (end - start) / 1000 });
  }
  return rows;
}

/**
 * A runner is billed at surge price when, as it starts, its machine type already has at least the
 * reserved number of live runners platform-wide. Unknown types are never surge.
 */
export function isSurgeStart(type: MachineType | undefined, liveOfType: number): boolean {
  return type !== undefined && liveOfType >= type.reservedRunners;
}

/**
 * Meter rows that make a runner's machine time end at `end`: every minute from the earlier of what was
 * metered and `end` up to the later is rewritten with its time inside [from, end], so a minute the dead
 * node metered past `end` drops to what came before it and a minute it never metered is filled.
 */
export function closingMeterRows(row: RunnerRow, end: number): MeterRecord[] {
  const base = {
    runnerId: row.runnerId,
    owner: row.owner,
    app: row.app,
    environment: row.environment ?? 'main',
    machineType: row.machineType,
    isSurge: row.isSurge ?? false,
  };
  const from = row.startedAt;
  const out: MeterRecord[] = [];
  const last = Math.max(row.meteredUntil, end);
  for (let m = minuteOf(Math.max(from, Math.min(row.meteredUntil, end))); m < last; m += MINUTE_MS) {
    const seconds = Math.max(0, Math.min(end, m + MINUTE_MS) - Math.max(from, m)) / 1000;
    out.push({ ...base, minute: m, seconds });
  }
  return out;
}
