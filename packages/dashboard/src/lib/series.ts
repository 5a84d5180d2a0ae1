import type { AnalyticsMetric, AnalyticsRecord, UsageRow } from '@hangar/client';

/** A bucketed response page's series part. */
export interface Bucketed<R> {
  bucket: string;
  results: R[];
}

/** Layers of a stacked chart, largest first, over shared x values (Unix seconds). */
export interface Layers {
  xs: number[];
  layers: { label: string; values: number[] }[];
}

/** Buckets merged by instant (pages may split one) and sorted by time. */
function byInstant<R>(buckets: readonly Bucketed<R>[]): { x: number; results: R[] }[] {
  const m = new Map<number, R[]>();
  for (const b of buckets) {
    const x = Date.parse(b.bucket) / 1000;
    if (!Number.isFinite(x)) continue;
    m.set(x, [...(m.get(x) ?? []), ...b.results]);
  }
  return [...m].sort((a, b) => a[0] - b[0]).map(([x, results]) => ({ x, results }));
}

/**
 * Usage per bucket grouped by app or machine type: the `maxGroups - 1` biggest groups keep their name,
 * the rest are summed as `other`.
 */
export function usageLayers(
  buckets: readonly Bucketed<UsageRow>[],
  groupBy: 'app' | 'machine_type',
  metric: 'quantity' | 'cost_total',
  maxGroups = 7,
): Layers {
  const rows = byInstant(buckets);
  const keyOf = (r: UsageRow) => (groupBy === 'app' ? (r.app ?? '(unattributed)') : r.machine_type);
  const totals = new Map<string, number>();
  for (const b of rows)
    for (const r of b.results) totals.set(keyOf(r), (totals.get(keyOf(r)) ?? 0) + r[metric]);
  const ranked = [...totals].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const named = ranked.length > maxGroups ? ranked.slice(0, maxGroups - 1) : ranked;
  const labels = ranked.length > named.length ? [...named, 'other'] : named;
  const index = new Map(labels.map((l, i) => [l, i]));
  const layers = labels.map((label) => ({ label, values: rows.map(() => 0) }));
  rows.forEach((b, i) => {
    for (const r of b.results) {
      const li = index.get(keyOf(r)) ?? labels.length - 1;
      layers[li]!.values[i]! += r[metric];
    }
  });
  return { xs: rows.map((b) => b.x), layers };
}

/** Analytics over time with endpoints merged: counts are summed, percentiles weighted by request count. */
export interface MergedAnalytics {
  xs: number[];
  /** The per-bucket values of a metric (null where no endpoint reported it). */
  get: (metric: AnalyticsMetric) => (number | null)[];
}

const COUNT = /_count$|^total_/;

/** Merges the endpoints of each bucket (one endpoint's percentiles are exact; several are approximated). */
export function mergeAnalytics(buckets: readonly Bucketed<AnalyticsRecord>[]): MergedAnalytics {
  const rows = byInstant(buckets);
  const get = (metric: AnalyticsMetric) =>
    rows.map(({ results }) => {
      const present = results.filter((r) => typeof r[metric] === 'number');
      if (present.length === 0) return null;
      if (COUNT.test(metric)) return present.reduce((s, r) => s + (r[metric] ?? 0), 0);
      if (present.length === 1) return present[0]![metric]!;
      const weight = (r: AnalyticsRecord) => r.request_count ?? 1;
      const w = present.reduce((s, r) => s + weight(r), 0);
      if (w === 0) return null;
      return present.reduce((s, r) => s + (r[metric] ?? 0) * weight(r), 0) / w;
    });
  return { xs: rows.map((r) => r.x), get };
}

/** Errors (5xx and 4xx) as a percentage of requests per bucket. */
export function errorRate(m: MergedAnalytics): (number | null)[] {
  const total = m.get('request_count');
  const errors = m.get('error_count');
  const user = m.get('user_error_count');
  return total.map((t, i) => (t ? (100 * ((errors[i] ?? 0) + (user[i] ?? 0))) / t : null));
}
