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
} from '@hangar/core';
import { COUNT_COLUMNS, SKETCH_COLUMNS, zeroCounts } from '../../../telemetry/request-rollup.js';
import { expandEndpoints } from './endpoints.js';
import { boundsOf, runsOf } from './runs.js';
import { planTiers } from './shared.js';
import { num, rows, type SqlClient } from './sql.js';

type SketchColumn = (typeof SKETCH_COLUMNS)[number];
type RawRow = Record<string, unknown>;

/** Sums of one (bucket, endpoint) cell; sketches stay encoded until a percentile is asked for. */
class Acc {
  readonly counts = zeroCounts();
  readonly sketches: Record<SketchColumn, Uint8Array[]> = {
    prepare_sketch: [],
    duration_sketch: [],
    cold_boot_sketch: [],
  };

  add(row: RawRow, sketches: readonly SketchColumn[]): void {
    for (const c of COUNT_COLUMNS) this.counts[c] += num(row[c]);
    for (const s of sketches) {
      const buf = row[s] as Uint8Array | null;
      if (buf) this.sketches[s].push(buf);
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
const PERCENTILE = /^p(\d+)_(prepare_duration|duration|cold_boot_duration)$/;
const SKETCH_OF: Record<string, SketchColumn> = {
  prepare_duration: 'prepare_sketch',
  duration: 'duration_sketch',
  cold_boot_duration: 'cold_boot_sketch',
};

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

/** The requested metrics of a cell; a percentile without samples is null (see query/analytics.ts). */
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

/** The rollup rows of every endpoint and range of one span, in one statement. */
async function readRows(
  db: SqlClient,
  ids: string[],
  span: number,
  ranges: readonly (readonly [number, number])[],
  sketches: readonly SketchColumn[],
): Promise<RawRow[]> {
  const counts = COUNT_COLUMNS.map((c) => `r.${c}::float8 AS ${c}`);
  const cols = [...counts, ...sketches.map((s) => `r.${s}`)].join(', ');
  const sql = `SELECT r.endpoint_id, r.start::float8 AS start, ${cols}
    FROM unnest($2::bigint[], $3::bigint[]) AS g(lo, hi)
    JOIN request_rollups r ON r.endpoint_id = ANY($1::text[]) AND r.span = $4 AND r.start >= g.lo AND r.start < g.hi
    WHERE r.start >= $5 AND r.start < $6`;
  const out: RawRow[] = [];
  for (const run of runsOf(ranges.map(([s, e]) => ({ s, e })))) {
    const args = [ids, run.map((r) => r.s), run.map((r) => r.e), span, ...boundsOf(run)];
    out.push(...(await rows<RawRow>(db, sql, args)));
  }
  return out;
}

async function accumulate(
  db: SqlClient,
  ids: string[],
  buckets: Bucket[],
  sketches: readonly SketchColumn[],
): Promise<Map<string, Acc>[]> {
  const cells = buckets.map(() => new Map<string, Acc>());
  if (ids.length === 0) return cells;
  const plan = [...planTiers(buckets)];
  const read = await Promise.all(plan.map(([span, ranges]) => readRows(db, ids, span, ranges, sketches)));
  for (const row of read.flat()) {
    const i = findBucket(buckets, num(row.start));
    if (i < 0) continue;
    const id = row.endpoint_id as string;
    let acc = cells[i]!.get(id);
    if (!acc) {
      acc = new Acc();
      cells[i]!.set(id, acc);
    }
    acc.add(row, sketches);
  }
  return cells;
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

const byId = ([x]: [string, Acc], [y]: [string, Acc]) => (x < y ? -1 : 1);

/** Time-bucketed and/or summary analytics of the selected endpoints, from the request rollups. */
export async function analyticsPage(db: SqlClient, p: AnalyticsParams): Promise<AnalyticsResult> {
  const ids = (await expandEndpoints(db, 'request_rollups', p.endpoints)).sort();
  const plan = planMetrics(p.metrics);
  const sketches = plan.sketches.map((e) => e.col);
  const out: AnalyticsResult = { nextBucket: null };
  let whole: Map<string, Acc> | null = null;
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const cells = await accumulate(db, ids, buckets, sketches);
    out.time_series = buckets.map((b, i) => ({
      bucket: b.label,
      results: [...cells[i]!.entries()].sort(byId).map(([id, acc]) => toRecord(id, acc, plan)),
    }));
    // A page holding the whole window already read every row the summary needs.
    if (out.nextBucket === null && buckets[0]?.start === p.window.startMs) whole = mergeCells(cells);
  }
  if (p.summary) {
    const window = [{ start: p.window.startMs, end: p.window.endMs, label: '' }];
    whole ??= (await accumulate(db, ids, window, sketches))[0]!;
    const all = whole;
    out.summary = ids.map((id) => toRecord(id, all.get(id) ?? new Acc(), plan));
  }
  return out;
}
