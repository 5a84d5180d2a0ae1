import {
  type AnalyticsMetric,
  type AnalyticsParams,
  type AnalyticsRecord,
  type AnalyticsResult,
  type Bucket,
  encodedQuantiles,
  findBucket,
  listBuckets,
  QuantileSketch,
  type RollupCounts,
  type RollupRow,
} from '@hangar/core';
import {
  COUNT_COLUMNS,
  SKETCH_COLUMNS,
  type SketchColumn,
  zeroCounts,
} from '../../../telemetry/request-rollup.js';
import { compareIds, endpointMatcher, type MemoryReadTables } from './tables.js';

// Analytics over the memory rollups (one row per endpoint and UTC minute, as drained), with the SQLite
// reads' rules (sqlite/reads/analytics.ts): a minute counts in the bucket holding its start, percentiles
// come from the merged sketches, and every selected endpoint appears in the summary.

const PERCENTILE = /^p(\d+)_(prepare_duration|duration|cold_boot_duration)$/;
const SKETCH_OF: Record<string, SketchColumn> = {
  prepare_duration: 'prepare_sketch',
  duration: 'duration_sketch',
  cold_boot_duration: 'cold_boot_sketch',
};

/** Sums of one (bucket, endpoint) cell; sketches stay encoded until a percentile is asked for. */
class Cell {
  readonly counts = zeroCounts();
  readonly sketches: Record<SketchColumn, Uint8Array[]> = {
    prepare_sketch: [],
    duration_sketch: [],
    cold_boot_sketch: [],
  };

  add(row: Readonly<RollupRow>): void {
    for (const c of COUNT_COLUMNS) this.counts[c] += row[c];
    for (const s of SKETCH_COLUMNS) {
      const buf = row[s];
      if (buf) this.sketches[s].push(buf);
    }
  }

  quantiles(col: SketchColumn, qs: number[]): (number | null)[] {
    const bufs = this.sketches[col];
    if (bufs.length === 0) return qs.map(() => null);
    if (bufs.length === 1) return encodedQuantiles(bufs[0]!, qs);
    const s = new QuantileSketch();
    for (const b of bufs) s.mergeEncoded(b);
    return s.quantiles(qs);
  }
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** What to compute per cell, worked out once per query. */
interface MetricPlan {
  counts: { metric: AnalyticsMetric; col: keyof RollupCounts }[];
  billable: boolean;
  sketches: { col: SketchColumn; qs: number[]; metrics: AnalyticsMetric[] }[];
}

function planMetrics(metrics: readonly AnalyticsMetric[]): MetricPlan {
  const plan: MetricPlan = { counts: [], billable: false, sketches: [] };
  for (const m of metrics) {
    const p = PERCENTILE.exec(m);
    if (!p) {
      if (m === 'total_billable_duration') plan.billable = true;
      else plan.counts.push({ metric: m, col: m as keyof RollupCounts });
      continue;
    }
    const col = SKETCH_OF[p[2]!]!;
    let entry = plan.sketches.find((e) => e.col === col);
    if (!entry) {
      entry = { col, qs: [], metrics: [] };
      plan.sketches.push(entry);
    }
    entry.qs.push(Number(p[1]) / 100);
    entry.metrics.push(m);
  }
  return plan;
}

/** The requested metrics of a cell: each one present, a percentile without samples null. */
function toRecord(endpointId: string, cell: Cell, plan: MetricPlan): AnalyticsRecord {
  const rec: AnalyticsRecord = { endpoint_id: endpointId };
  for (const { metric, col } of plan.counts) rec[metric] = cell.counts[col];
  if (plan.billable) rec.total_billable_duration = round6(cell.counts.duration_sum_ms / 1000);
  for (const { col, qs, metrics } of plan.sketches) {
    const values = cell.quantiles(col, qs);
    for (let i = 0; i < metrics.length; i++) {
      const v = values[i];
      rec[metrics[i]!] = v === null || v === undefined ? null : round6(v / 1000);
    }
  }
  return rec;
}

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

/** One map of cells per bucket: the rollups of the ids, each in the bucket holding its minute. */
function accumulate(t: MemoryReadTables, ids: readonly string[], buckets: Bucket[]): Map<string, Cell>[] {
  const cells = buckets.map(() => new Map<string, Cell>());
  const wanted = new Set(ids);
  for (const row of t.rollups) {
    if (!wanted.has(row.endpoint_id)) continue;
    const i = findBucket(buckets, row.minute);
    if (i < 0) continue;
    let cell = cells[i]!.get(row.endpoint_id);
    if (!cell) {
      cell = new Cell();
      cells[i]!.set(row.endpoint_id, cell);
    }
    cell.add(row);
  }
  return cells;
}

/** Time-bucketed and/or summary analytics of the selected endpoints, from the memory rollups. */
export function analyticsPage(t: MemoryReadTables, p: AnalyticsParams): AnalyticsResult {
  const ids = coveredIds(t, p);
  const plan = planMetrics(p.metrics);
  const out: AnalyticsResult = { nextBucket: null };
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const cells = accumulate(t, ids, buckets);
    out.time_series = buckets.map((b, i) => ({
      bucket: b.label,
      results: [...cells[i]!.entries()]
        .sort(([x], [y]) => compareIds(x, y))
        .map(([id, cell]) => toRecord(id, cell, plan)),
    }));
  }
  if (p.summary) {
    const whole = accumulate(t, ids, [{ start: p.window.startMs, end: p.window.endMs, label: '' }])[0]!;
    out.summary = ids.map((id) => toRecord(id, whole.get(id) ?? new Cell(), plan));
  }
  return out;
}
