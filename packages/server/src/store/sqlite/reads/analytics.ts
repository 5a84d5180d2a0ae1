import type { RollupCounts } from '@hangar/core';
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
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { COUNT_COLUMNS, SKETCH_COLUMNS, zeroCounts } from '../../../telemetry/request-rollup.js';
import { expandEndpoints } from './requests.js';
import { prepared } from './statements.js';
import { planTiers, type Range } from './tiers.js';

type SketchColumn = (typeof SKETCH_COLUMNS)[number];

const PERCENTILE = /^p(\d+)_(prepare_duration|duration|cold_boot_duration)$/;
const SKETCH_OF: Record<string, SketchColumn> = {
  prepare_duration: 'prepare_sketch',
  duration: 'duration_sketch',
  cold_boot_duration: 'cold_boot_sketch',
};

/** A rollup row as an array: endpoint id, start, the counts, then the selected sketches. */
type RawRow = unknown[];

/** Sums of one (bucket, endpoint) cell; sketches stay encoded until a percentile is asked for. */
class Acc {
  readonly counts = zeroCounts();
  readonly sketches: Record<SketchColumn, Buffer[]> = {
    prepare_sketch: [],
    duration_sketch: [],
    cold_boot_sketch: [],
  };

  /** Adds a raw row `[endpoint_id, start, ...COUNT_COLUMNS, ...sketches]`. */
  add(row: RawRow, sketches: readonly SketchColumn[]): void {
    for (let c = 0; c < COUNT_COLUMNS.length; c++) this.counts[COUNT_COLUMNS[c]!] += row[2 + c] as number;
    for (let j = 0; j < sketches.length; j++) {
      const buf = row[2 + COUNT_COLUMNS.length + j] as Buffer | null;
      if (buf) this.sketches[sketches[j]!].push(buf);
    }
  }

  absorb(other: Acc): void {
    for (const c of COUNT_COLUMNS) this.counts[c] += other.counts[c];
    for (const c of SKETCH_COLUMNS) this.sketches[c].push(...other.sketches[c]);
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

/**
 * The requested metrics of a cell. Every requested metric is present (fal: "only requested metrics will be
 * populated"); a percentile whose cell has no samples is null, never a made-up 0.
 */
function toRecord(endpointId: string, acc: Acc, plan: MetricPlan): AnalyticsRecord {
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

function readRows(
  db: Database.Database,
  ids: string[],
  span: number,
  ranges: Range[],
  sketches: readonly SketchColumn[],
): RawRow[] {
  const cols = [...COUNT_COLUMNS, ...sketches].join(', ');
  const stmt = prepared(
    db,
    `SELECT endpoint_id, start, ${cols} FROM request_rollups WHERE endpoint_id = ? AND span = ? AND start >= ? AND start < ?`,
  ).raw(true);
  const rows: RawRow[] = [];
  for (const id of ids) {
    for (const [from, to] of ranges)
      for (const row of stmt.all(id, span, from, to) as RawRow[]) rows.push(row);
  }
  return rows;
}

/** Accumulates the rollups covering `buckets` into one `Acc` per (bucket index, endpoint). */
function accumulate(
  db: Database.Database,
  ids: string[],
  buckets: Bucket[],
  sketches: readonly SketchColumn[],
): Map<string, Acc>[] {
  const cells = buckets.map(() => new Map<string, Acc>());
  const plan = planTiers(buckets);
  const rows = [...plan].flatMap(([span, ranges]) => readRows(db, ids, span, ranges, sketches));
  for (const row of rows) {
    const i = findBucket(buckets, row[1] as number);
    if (i < 0) continue;
    const id = row[0] as string;
    let acc = cells[i]!.get(id);
    if (!acc) {
      acc = new Acc();
      cells[i]!.set(id, acc);
    }
    acc.add(row, sketches);
  }
  return cells;
}

/** Time-bucketed and/or summary analytics of the selected endpoints, from the request rollups. */
export function queryAnalytics(db: Database.Database, p: AnalyticsParams): AnalyticsResult {
  const ids = expandEndpoints(db, 'request_rollups', p.endpoints).sort();
  const plan = planMetrics(p.metrics);
  const sketches = plan.sketches.map((e) => e.col);
  const out: AnalyticsResult = { nextBucket: null };
  let whole: Map<string, Acc> | null = null;
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const cells = accumulate(db, ids, buckets, sketches);
    out.time_series = buckets.map((b, i) => ({
      bucket: b.label,
      results: [...cells[i]!.entries()]
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([id, acc]) => toRecord(id, acc, plan)),
    }));
    // A page holding the whole window already read every row the summary needs.
    if (out.nextBucket === null && buckets[0]?.start === p.window.startMs) whole = mergeCells(cells);
  }
  if (p.summary) {
    whole ??= accumulate(
      db,
      ids,
      [{ start: p.window.startMs, end: p.window.endMs, label: '' }],
      sketches,
    )[0]!;
    out.summary = ids.map((id) => toRecord(id, whole!.get(id) ?? new Acc(), plan));
  }
  return out;
}

function mergeCells(cells: readonly Map<string, Acc>[]): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const cell of cells) {
    for (const [id, acc] of cell) {
      let into = out.get(id);
      if (!into) {
        into = new Acc();
        out.set(id, into);
      }
      into.absorb(acc);
    }
  }
  return out;
}
