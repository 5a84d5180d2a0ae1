import type { MeterRecord } from '@hangar/core';

/** Key of one (runner, minute) meter row. */
export function meterKey(runnerId: string, minute: number): string {
  return `${runnerId}\u0000${minute}`;
}

/** Which apps a usage query covers: exact names (null for all) and a case-insensitive substring. */
export interface AppFilter {
  owner: string;
  apps: readonly string[] | null;
  search: string | null;
}

/** True when the row belongs to the filter's owner and matches its app name and search. */
export function matchesApp(row: MeterRecord, f: AppFilter): boolean {
  if (row.owner !== f.owner) return false;
  if (f.apps !== null && !f.apps.includes(row.app)) return false;
  return f.search === null || row.app.toLowerCase().includes(f.search.toLowerCase());
}

/**
 * The machine time live rows add on top of the stored meter rows. A live row holds a running runner's
 * whole time within its minute up to now, exactly as the store would hold it once metered, so it replaces
 * the stored value of the same (runner, minute) rather than adding to it: the result is the part not yet
 * stored. When the store is ahead (the minute was metered after the live rows were taken), nothing is
 * added, so no second is ever counted twice.
 */
export function unstoredMeter(
  live: readonly MeterRecord[],
  stored: ReadonlyMap<string, number>,
  filter: AppFilter,
): MeterRecord[] {
  const out: MeterRecord[] = [];
  const seen = new Set<string>();
  for (const row of live) {
    const key = meterKey(row.runnerId, row.minute);
    if (seen.has(key) || !matchesApp(row, filter)) continue;
    seen.add(key);
    const extra = row.seconds - (stored.get(key) ?? 0);
    if (extra > 1e-9) out.push({ ...row, seconds: extra });
  }
  return out;
}
