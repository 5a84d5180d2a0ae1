import type { AnalyticsParams, AnalyticsResult } from '@hangar/core';
import {
  CellSums,
  type Cells,
  fillCells,
  mergeCells,
  planMetrics,
  type RollupRow,
  type SketchColumn,
  toRecord,
} from './analytics-cells.js';
import { bucketPage, type ReadSteps, wholeWindow } from './steps.js';
import { planTiers, type Range } from './tiers.js';

/** Rollup rows to read: per span, the ranges of that span's rows, with the sketch columns to select. */
export interface RollupAsk {
  tiers: [span: number, ranges: Range[]][];
  sketches: readonly SketchColumn[];
}

const byId = ([x]: [string, CellSums], [y]: [string, CellSums]) => (x < y ? -1 : 1);

/**
 * Time-bucketed and/or summary analytics of the endpoints `ids` (sorted), from the rollup rows the engine
 * reads for each ask, in the order of the ask's tiers.
 */
export function* analyticsSteps(
  p: AnalyticsParams,
  ids: readonly string[],
): ReadSteps<RollupAsk, RollupRow[], AnalyticsResult> {
  const plan = planMetrics(p.metrics);
  const sketches = plan.sketches.map((e) => e.col);
  const out: AnalyticsResult = { nextBucket: null };
  let whole: Cells | null = null;
  if (p.timeSeries) {
    const { buckets, nextBucket } = bucketPage(p);
    out.nextBucket = nextBucket;
    const rows: RollupRow[] = yield { tiers: [...planTiers(buckets)], sketches };
    const cells = fillCells(buckets, rows, sketches);
    out.time_series = buckets.map((b, i) => ({
      bucket: b.label,
      results: [...cells[i]!.entries()].sort(byId).map(([id, acc]) => toRecord(id, acc, plan)),
    }));
    // A page holding the whole window already read every row the summary needs.
    if (out.nextBucket === null && buckets[0]?.start === p.window.startMs) whole = mergeCells(cells);
  }
  if (p.summary) {
    if (!whole) {
      const window = wholeWindow(p);
      const rows: RollupRow[] = yield { tiers: [...planTiers(window)], sketches };
      whole = fillCells(window, rows, sketches)[0]!;
    }
    const all = whole;
    out.summary = ids.map((id) => toRecord(id, all.get(id) ?? new CellSums(), plan));
  }
  return out;
}
