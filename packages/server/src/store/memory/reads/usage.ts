import {
  type Bucket,
  findBucket,
  listBuckets,
  type MeterRecord,
  priceUsage,
  type UsageParams,
  type UsageResult,
  type UsageRow,
} from '@hangar/core';
import { matchesApp, meterKey, unstoredMeter } from '../../live-usage.js';
import { compareIds, type MemoryReadTables } from './tables.js';

// Usage over the memory meter rows, with the SQLite reads' rules (sqlite/reads/usage.ts): machine-seconds
// grouped per (bucket, app, environment, machine type, surge), a minute in the bucket holding its start,
// live rows adding only what is not stored yet, then priced per machine type.

/** Machine-seconds of one (app, environment, machine type, surge) group. */
interface Group {
  app: string;
  environment: string;
  machineType: string;
  isSurge: boolean;
  seconds: number;
}

type Groups = Map<string, Group>;

/** Seconds at or below this are no machine time (SQLite's rollup tiers skip such cells). */
const NO_TIME = 1e-9;

function add(groups: Groups, r: Readonly<MeterRecord>): void {
  const key = `${r.app}\u0000${r.environment}\u0000${r.machineType}\u0000${r.isSurge ? 1 : 0}`;
  const g = groups.get(key);
  if (g) g.seconds += r.seconds;
  else {
    const { app, environment, machineType, isSurge, seconds } = r;
    groups.set(key, { app, environment, machineType, isSurge, seconds });
  }
}

/** The live rows' machine time not yet in the meter rows. */
function unstored(t: MemoryReadTables, p: UsageParams): MeterRecord[] {
  const live = p.live ?? [];
  const stored = new Map<string, number>();
  for (const r of live) {
    const key = meterKey(r.runnerId, r.minute);
    const row = t.meter.get(key);
    if (row) stored.set(key, row.seconds);
  }
  return unstoredMeter(live, stored, p);
}

/** Groups per bucket of the owner's matching rows (stored, then live), each in the bucket of its minute. */
function accumulate(t: MemoryReadTables, p: UsageParams, buckets: Bucket[], extra: MeterRecord[]): Groups[] {
  const groups = buckets.map((): Groups => new Map());
  for (const r of t.meter.values()) {
    if (r.seconds <= NO_TIME || !matchesApp(r, p)) continue;
    const i = findBucket(buckets, r.minute);
    if (i >= 0) add(groups[i]!, r);
  }
  for (const r of extra) {
    const i = findBucket(buckets, r.minute);
    if (i >= 0) add(groups[i]!, r);
  }
  return groups;
}

/**
 * The environment apps run in when their manifest names none. fal reports a usage row's environment only
 * "when present on the billing line item, null otherwise", so the default one is reported as null.
 */
const DEFAULT_ENVIRONMENT = 'main';

function price(p: UsageParams, groups: Groups): UsageRow[] {
  return [...groups.entries()]
    .sort(([a], [b]) => compareIds(a, b))
    .map(([, g]) => {
      // A machine type missing from the configuration is reported at price 0 rather than dropped.
      const machine = p.prices[g.machineType] ?? { unitPrice: 0, surgeMultiplier: 1 };
      return priceUsage({
        app: g.app,
        environment: g.environment === DEFAULT_ENVIRONMENT ? null : g.environment,
        machineType: g.machineType,
        isSurge: g.isSurge,
        quantity: g.seconds,
        basePrice: machine.unitPrice,
        surgeMultiplier: machine.surgeMultiplier,
        percentDiscount: p.percentDiscount,
        currency: p.currency,
      });
    });
}

/** Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised. */
export function usagePage(t: MemoryReadTables, p: UsageParams): UsageResult {
  const out: UsageResult = { nextBucket: null };
  const extra = unstored(t, p);
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const groups = accumulate(t, p, buckets, extra);
    out.time_series = buckets.map((b, i) => ({ bucket: b.label, results: price(p, groups[i]!) }));
  }
  if (p.summary) {
    const window = [{ start: p.window.startMs, end: p.window.endMs, label: '' }];
    out.summary = price(p, accumulate(t, p, window, extra)[0]!);
  }
  return out;
}
