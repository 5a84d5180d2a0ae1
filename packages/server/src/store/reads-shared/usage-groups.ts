import {
  type Bucket,
  findBucket,
  type MeterRecord,
  priceUsage,
  type UsageParams,
  type UsageResult,
  type UsageRow,
} from '@hangar/core';
import { bucketPage, type ReadSteps, wholeWindow } from './steps.js';
import { METER_SPANS, planTiers, type Range } from './tiers.js';

/** Machine-seconds of one (bucket, app, environment, machine type, surge) group. */
export interface GroupRow {
  i: number;
  app: string;
  environment: string;
  machine_type: string;
  is_surge: number;
  seconds: number;
}

/** Intervals `[i, s, e)` of one span to read, each inside bucket `i`; the engine groups rows per interval. */
export interface GroupAsk {
  span: number;
  intervals: [number, number, number][];
}

type Groups = Map<string, GroupRow>;

/** The tier ranges cut at bucket edges, each tagged with its bucket's index. */
function intervals(buckets: Bucket[], ranges: Range[]): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const [from, to] of ranges) {
    for (let i = Math.max(0, findBucket(buckets, from)); i < buckets.length; i++) {
      const b = buckets[i]!;
      if (b.start >= to) break;
      const s = Math.max(from, b.start);
      const e = Math.min(to, b.end);
      if (s < e) out.push([i, s, e]);
    }
  }
  return out;
}

function add(groups: Groups, r: GroupRow): void {
  const key = `${r.app}\u0000${r.environment}\u0000${r.machine_type}\u0000${r.is_surge}`;
  const g = groups.get(key);
  if (g) g.seconds += r.seconds;
  else groups.set(key, { ...r });
}

/** Sums machine-seconds per (bucket, app, environment, machine type, surge), read grouped per tier. */
function* accumulate(
  buckets: Bucket[],
  extra: readonly MeterRecord[],
): ReadSteps<GroupAsk, GroupRow[], Groups[]> {
  const groups = buckets.map((): Groups => new Map());
  for (const [span, ranges] of planTiers(buckets, METER_SPANS)) {
    const found: GroupRow[] = yield { span, intervals: intervals(buckets, ranges) };
    for (const r of found) add(groups[r.i]!, r);
  }
  // Like stored rows, a live row counts in the bucket holding its minute's start.
  for (const r of extra) {
    const i = findBucket(buckets, r.minute);
    if (i < 0) continue;
    add(groups[i]!, {
      i,
      app: r.app,
      environment: r.environment,
      machine_type: r.machineType,
      is_surge: r.isSurge ? 1 : 0,
      seconds: r.seconds,
    });
  }
  return groups;
}

/** The summary from the time-series groups, when those cover the whole window. */
function merge(all: Groups[]): Groups {
  const whole: Groups = new Map();
  for (const groups of all) for (const g of groups.values()) add(whole, g);
  return whole;
}

/**
 * The environment apps run in when their manifest names none. fal reports a usage row's environment only
 * "when present on the billing line item, null otherwise", so the default one is reported as null.
 */
const DEFAULT_ENVIRONMENT = 'main';

function price(p: UsageParams, groups: Groups): UsageRow[] {
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, g]) => {
      // A machine type missing from the configuration is reported at price 0 rather than dropped.
      const machine = p.prices[g.machine_type] ?? { unitPrice: 0, surgeMultiplier: 1 };
      return priceUsage({
        app: g.app,
        environment: g.environment === DEFAULT_ENVIRONMENT ? null : g.environment,
        machineType: g.machine_type,
        isSurge: g.is_surge === 1,
        quantity: g.seconds,
        basePrice: machine.unitPrice,
        surgeMultiplier: machine.surgeMultiplier,
        percentDiscount: p.percentDiscount,
        currency: p.currency,
      });
    });
}

/**
 * Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised, from the
 * groups the engine reads for each ask plus `extra`, the live rows not yet stored (read in the same snapshot).
 */
export function* usageSteps(
  p: UsageParams,
  extra: readonly MeterRecord[],
): ReadSteps<GroupAsk, GroupRow[], UsageResult> {
  const out: UsageResult = { nextBucket: null };
  let covered: Groups[] | null = null;
  if (p.timeSeries) {
    const { buckets, nextBucket } = bucketPage(p);
    out.nextBucket = nextBucket;
    const groups = yield* accumulate(buckets, extra);
    out.time_series = buckets.map((b, i) => ({ bucket: b.label, results: price(p, groups[i]!) }));
    const whole = buckets[0]?.start === p.window.startMs && buckets.at(-1)?.end === p.window.endMs;
    if (whole && out.nextBucket === null) covered = groups;
  }
  if (p.summary) {
    const whole = covered ? merge(covered) : (yield* accumulate(wholeWindow(p), extra))[0]!;
    out.summary = price(p, whole);
  }
  return out;
}
