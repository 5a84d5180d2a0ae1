import type { MeterRecord, UsageParams, UsageResult } from '@hangar/core';
import { matchesApp, meterKey, unstoredMeter } from '../../live-usage.js';
import { runSteps } from '../../reads-shared/steps.js';
import { type GroupAsk, type GroupRow, usageSteps } from '../../reads-shared/usage-groups.js';
import { firstIndex, type MemoryReadTables } from './tables.js';

// Usage over the memory meter rows with the shared page rules (reads-shared/usage-groups.ts). The memory
// engine keeps minute rows only, so it answers an ask of any span from them: the asks' intervals cover
// the buckets without overlap, and each minute row falls in at most one of them.

/** Seconds at or below this are no machine time (SQLite's rollup tiers skip such cells). */
const NO_TIME = 1e-9;

/** The live rows' machine time not yet in the meter rows. */
function unstored(t: MemoryReadTables, p: UsageParams): MeterRecord[] {
  const live = p.live ?? [];
  const stored = new Map<string, number>();
  for (const r of live) {
    const key = meterKey(r.runnerId, r.minute);
    const row = t.meter.get(key);
    if (row) stored.set(key, row.seconds);
  }
  return unstoredMeter(live, stored, p);
}

/** The owner's matching meter rows with machine time, by minute (stored order within a minute). */
function matchingRows(t: MemoryReadTables, p: UsageParams): Readonly<MeterRecord>[] {
  const rows: Readonly<MeterRecord>[] = [];
  for (const r of t.meter.values()) if (r.seconds > NO_TIME && matchesApp(r, p)) rows.push(r);
  return rows.sort((a, b) => a.minute - b.minute);
}

/** Machine-seconds per (interval's bucket, app, environment, machine type, surge), as the SQL groups them. */
function readGroups(rows: readonly Readonly<MeterRecord>[], { intervals }: GroupAsk): GroupRow[] {
  const groups = new Map<string, GroupRow>();
  for (const [i, s, e] of intervals) {
    const from = firstIndex(rows.length, (x) => rows[x]!.minute < s);
    for (let j = from; j < rows.length && rows[j]!.minute < e; j++) {
      const r = rows[j]!;
      const is_surge = r.isSurge ? 1 : 0;
      const key = `${i}\u0000${r.app}\u0000${r.environment}\u0000${r.machineType}\u0000${is_surge}`;
      const g = groups.get(key);
      if (g) g.seconds += r.seconds;
      else {
        const { app, environment, machineType: machine_type, seconds } = r;
        groups.set(key, { i, app, environment, machine_type, is_surge, seconds });
      }
    }
  }
  return [...groups.values()];
}

/** Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised. */
export function usagePage(t: MemoryReadTables, p: UsageParams): UsageResult {
  const rows = matchingRows(t, p);
  return runSteps(usageSteps(p, unstored(t, p)), (ask) => readGroups(rows, ask));
}
