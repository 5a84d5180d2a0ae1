import type { AnalyticsParams, AnalyticsResult, RollupRow as StoredRollup } from '@hangar/core';
import { COUNT_COLUMNS } from '../../../telemetry/request-rollup.js';
import type { RollupRow, SketchColumn } from '../../reads-shared/analytics-cells.js';
import { analyticsSteps, type RollupAsk } from '../../reads-shared/analytics-page.js';
import { runSteps } from '../../reads-shared/steps.js';
import type { Range } from '../../reads-shared/tiers.js';
import { compareIds, endpointMatcher, firstIndex, type MemoryReadTables } from './tables.js';

// Analytics over the memory rollups with the shared page rules (reads-shared/analytics-page.ts). The memory
// rollups hold minute rows only, so an ask's tiers come down to their ranges: the tiers cover the buckets
// without overlap, and each minute row whose start lies in one of them is read once.

/**
 * The endpoint ids the selectors cover, sorted: each selector's own id, and for a bare one every
 * route-level id the rollups hold (the SQLite reads expand them from the rollup table the same way).
 */
function coveredIds(t: MemoryReadTables, p: AnalyticsParams): string[] {
  const ids = new Set(p.endpoints.map((s) => s.id));
  const covers = endpointMatcher(p.endpoints);
  for (const r of t.rollups) if (!ids.has(r.endpoint_id) && covers(r.endpoint_id)) ids.add(r.endpoint_id);
  return [...ids].sort(compareIds);
}

/** Whether `at` lies in one of the sorted, disjoint `ranges`. */
function inRanges(ranges: readonly Range[], at: number): boolean {
  const i = firstIndex(ranges.length, (j) => ranges[j]![1] <= at);
  return i < ranges.length && ranges[i]![0] <= at;
}

/** A stored rollup in the positional shape the shared cells read. */
function positional(r: Readonly<StoredRollup>, sketches: readonly SketchColumn[]): RollupRow {
  return [r.endpoint_id, r.minute, ...COUNT_COLUMNS.map((c) => r[c]), ...sketches.map((s) => r[s] ?? null)];
}

/** The rollups of the ids whose minute lies in the ask's ranges, in stored order. */
function readRows(t: MemoryReadTables, ids: readonly string[], ask: RollupAsk): RollupRow[] {
  const wanted = new Set(ids);
  const ranges = ask.tiers.flatMap(([, r]) => r).sort((a, b) => a[0] - b[0]);
  const out: RollupRow[] = [];
  for (const r of t.rollups) {
    if (wanted.has(r.endpoint_id) && inRanges(ranges, r.minute)) out.push(positional(r, ask.sketches));
  }
  return out;
}

/** Time-bucketed and/or summary analytics of the selected endpoints, from the memory rollups. */
export function analyticsPage(t: MemoryReadTables, p: AnalyticsParams): AnalyticsResult {
  const ids = coveredIds(t, p);
  return runSteps(analyticsSteps(p, ids), (ask) => readRows(t, ids, ask));
}
