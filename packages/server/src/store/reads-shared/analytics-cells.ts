import {
  type AnalyticsMetric,
  type AnalyticsRecord,
  type Bucket,
  encodedQuantiles,
  findBucket,
  QuantileSketch,
  type RollupCounts,
} from '@hangar/core';
import { COUNT_COLUMNS, SKETCH_COLUMNS, zeroCounts } from '../../telemetry/request-rollup.js';

/** A sketch column of `request_rollups`. */
export type SketchColumn = (typeof SKETCH_COLUMNS)[number];

/** A rollup row as an array: endpoint id, start, the `COUNT_COLUMNS`, then the selected sketches. */
export type RollupRow = unknown[];

/** The cells of one bucket, by endpoint id. */
export type Cells = Map<string, CellSums>;

const PERCENTILE = /^p(\d+)_(prepare_duration|duration|cold_boot_duration)$/;
const SKETCH_OF: Record<string, SketchColumn> = {
  prepare_duration: 'prepare_sketch',
  duration: 'duration_sketch',
  cold_boot_duration: 'cold_boot_sketch',
};

/** Sums of one (bucket, endpoint) cell; sketches stay encoded until a percentile is asked for. */
export class CellSums {
  readonly counts = zeroCounts();
  readonly sketches: Record<SketchColumn, Uint8Array[]> = {
    prepare_sketch: [],
    duration_sketch: [],
    cold_boot_sketch: [],
  };

  /** Adds a rollup row `[endpoint_id, start, ...COUNT_COLUMNS, ...sketches]`. */
  add(row: RollupRow, sketches: readonly SketchColumn[]): void {
    for (let c = 0; c < COUNT_COLUMNS.length; c++) this.counts[COUNT_COLUMNS[c]!] += row[2 + c] as number;
    for (let j = 0; j < sketches.length; j++) {
      const buf = row[2 + COUNT_COLUMNS.length + j] as Uint8Array | null;
      if (buf) this.sketches[sketches[j]!].push(buf);
    }
  }

  /** Adds another cell's sums. */
  absorb(other: CellSums): void {
    for (const c of COUNT_COLUMNS) this.counts[c] += other.counts[c];
    for (const c of SKETCH_COLUMNS) this.sketches[c].push(...other.sketches[c]);
  }

  /** The quantiles `qs` of one sketch column, null for each when the cell has no samples. */
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
export interface MetricPlan {
  counts: { metric: AnalyticsMetric; col: keyof RollupCounts }[];
  billable: boolean;
  sketches: { col: SketchColumn; qs: number[]; metrics: AnalyticsMetric[] }[];
}

/** The counts, billable time and sketch quantiles the requested metrics need. */
export function planMetrics(metrics: readonly AnalyticsMetric[]): MetricPlan {
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

/**
 * The requested metrics of a cell. Every requested metric is present (fal: "only requested metrics will be
 * populated"); a percentile whose cell has no samples is null, never a made-up 0.
 */
export function toRecord(endpointId: string, acc: CellSums, plan: MetricPlan): AnalyticsRecord {
  const rec: AnalyticsRecord = { endpoint_id: endpointId };
  for (const { metric, col } of plan.counts) rec[metric] = acc.counts[col];
  if (plan.billable) rec.total_billable_duration = round6(acc.counts.duration_sum_ms / 1000);
  for (const { col, qs, metrics } of plan.sketches) {
    const values = acc.quantiles(col, qs);
    for (let i = 0; i < metrics.length; i++) {
      const v = values[i];
      rec[metrics[i]!] = v === null || v === undefined ? null : round6(v / 1000);
    }
  }
  return rec;
}

/** Sums rollup rows into one cell per (bucket index, endpoint); a row outside every bucket is dropped. */
export function fillCells(
  buckets: readonly Bucket[],
  rows: readonly RollupRow[],
  sketches: readonly SketchColumn[],
): Cells[] {
  const cells = buckets.map((): Cells => new Map());
  for (const row of rows) {
    const i = findBucket(buckets, row[1] as number);
    if (i < 0) continue;
    const id = row[0] as string;
    let acc = cells[i]!.get(id);
    if (!acc) {
      acc = new CellSums();
      cells[i]!.set(id, acc);
    }
    acc.add(row, sketches);
  }
  return cells;
}

/** The cells of several buckets merged into one. */
export function mergeCells(cells: readonly Cells[]): Cells {
  const out: Cells = new Map();
  for (const cell of cells) {
    for (const [id, acc] of cell) {
      let into = out.get(id);
      if (!into) {
        into = new CellSums();
        out.set(id, into);
      }
      into.absorb(acc);
    }
  }
  return out;
}
