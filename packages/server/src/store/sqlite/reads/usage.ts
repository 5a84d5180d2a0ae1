import {
  type Bucket,
  findBucket,
  listBuckets,
  type MeterRecord,
  MINUTE_MS,
  priceUsage,
  type UsageParams,
  type UsageResult,
  type UsageRow,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { meterKey, unstoredMeter } from '../../live-usage.js';
import { prepared } from './statements.js';
import { METER_SPANS, planTiers, type Range } from './tiers.js';

/** Machine-seconds of one (bucket, app, environment, machine type, surge) group. */
interface GroupRow {
  i: number;
  app: string;
  environment: string;
  machine_type: string;
  is_surge: number;
  seconds: number;
}

type Groups = Map<string, GroupRow>;

// Each interval [s, e) lies inside bucket i, so grouping by i and the dimensions in SQL yields the
// bucket's totals; the interval list is small (tier ranges cut at bucket edges).
const INTERVALS = `WITH iv(i, s, e) AS (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(@intervals))`;
const FILTERS =
  `AND (@apps IS NULL OR app IN (SELECT value FROM json_each(@apps))) ` +
  `AND (@search IS NULL OR instr(lower(app), lower(@search)) > 0)`;
const GROUP = 'GROUP BY iv.i, app, environment, machine_type, is_surge';
const ROLLUP_SQL = `${INTERVALS} SELECT iv.i AS i, app, environment, machine_type, is_surge, SUM(seconds) AS seconds
  FROM iv CROSS JOIN meter_rollups m ON m.owner = @owner AND m.span = @span AND m.start >= iv.s AND m.start < iv.e
  WHERE m.seconds > 1e-9 ${FILTERS} ${GROUP}`;
const MINUTE_SQL = `${INTERVALS} SELECT iv.i AS i, app, environment, machine_type, is_surge, SUM(seconds) AS seconds
  FROM iv CROSS JOIN meter m ON m.owner = @owner AND m.minute >= iv.s AND m.minute < iv.e
  WHERE 1 ${FILTERS} ${GROUP}`;

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

function readGroups(
  db: Database.Database,
  p: UsageParams,
  span: number,
  iv: [number, number, number][],
): GroupRow[] {
  if (iv.length === 0) return [];
  const minutes = span === MINUTE_MS;
  const args = {
    apps: p.apps === null ? null : JSON.stringify(p.apps),
    search: p.search,
    owner: p.owner,
    intervals: JSON.stringify(iv),
    ...(minutes ? {} : { span }),
  };
  return prepared(db, minutes ? MINUTE_SQL : ROLLUP_SQL).all(args) as GroupRow[];
}

const STORED_SQL = `SELECT m.runner_id AS runner_id, m.minute AS minute, m.seconds AS seconds
  FROM json_each(@keys) k JOIN meter m ON m.runner_id = k.value ->> 0 AND m.minute = k.value ->> 1`;

/** The live rows' machine time not yet in the meter table (read in the same snapshot as the groups). */
function readUnstored(db: Database.Database, p: UsageParams): MeterRecord[] {
  const live = p.live ?? [];
  if (live.length === 0) return [];
  const keys = JSON.stringify(live.map((r) => [r.runnerId, r.minute]));
  const rows = prepared(db, STORED_SQL).all({ keys }) as {
    runner_id: string;
    minute: number;
    seconds: number;
  }[];
  const stored = new Map(rows.map((r) => [meterKey(r.runner_id, r.minute), r.seconds]));
  return unstoredMeter(live, stored, p);
}

/** Sums machine-seconds per (bucket, app, environment, machine type, surge), grouped in SQL per tier. */
function accumulate(
  db: Database.Database,
  p: UsageParams,
  buckets: Bucket[],
  extra: MeterRecord[],
): Groups[] {
  const groups = buckets.map((): Groups => new Map());
  for (const [span, ranges] of planTiers(buckets, METER_SPANS)) {
    for (const r of readGroups(db, p, span, intervals(buckets, ranges))) add(groups[r.i]!, r);
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

function add(groups: Groups, r: GroupRow): void {
  const key = `${r.app}\u0000${r.environment}\u0000${r.machine_type}\u0000${r.is_surge}`;
  const g = groups.get(key);
  if (g) g.seconds += r.seconds;
  else groups.set(key, { ...r });
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
 * Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised. One read
 * transaction, so the live rows are merged against the same snapshot the totals come from.
 */
export function queryUsage(db: Database.Database, p: UsageParams): UsageResult {
  return db.transaction(() => readUsage(db, p))();
}

function readUsage(db: Database.Database, p: UsageParams): UsageResult {
  const out: UsageResult = { nextBucket: null };
  const extra = readUnstored(db, p);
  let covered: Groups[] | null = null;
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const groups = accumulate(db, p, buckets, extra);
    out.time_series = buckets.map((b, i) => ({ bucket: b.label, results: price(p, groups[i]!) }));
    const whole = buckets[0]?.start === p.window.startMs && buckets.at(-1)?.end === p.window.endMs;
    if (whole && out.nextBucket === null) covered = groups;
  }
  if (p.summary) {
    const whole = covered
      ? merge(covered)
      : accumulate(db, p, [{ start: p.window.startMs, end: p.window.endMs, label: '' }], extra)[0]!;
    out.summary = price(p, whole);
  }
  return out;
}
