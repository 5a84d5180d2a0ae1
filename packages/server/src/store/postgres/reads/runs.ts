import { DAY_MS } from '@hangar/core';

/**
 * Splits intervals `[s, e)` into runs whose gaps are at most `maxGap` ms, sorted by start. Each run is read
 * with its overall bounds as plain parameters, so the planner walks one index range per run instead of
 * every row of the owner (it cannot derive a range from a join against an array of intervals).
 */
export function runsOf<T extends { s: number; e: number }>(items: readonly T[], maxGap = DAY_MS): T[][] {
  const sorted = [...items].sort((a, b) => a.s - b.s);
  const out: T[][] = [];
  for (const it of sorted) {
    const run = out.at(-1);
    const last = run?.at(-1);
    if (run && last && it.s - last.e <= maxGap) run.push(it);
    else out.push([it]);
  }
  return out;
}

/** The overall bounds of a run. */
export function boundsOf(run: readonly { s: number; e: number }[]): [number, number] {
  return [Math.min(...run.map((r) => r.s)), Math.max(...run.map((r) => r.e))];
}
