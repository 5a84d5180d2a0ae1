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
import { boundsOf, runsOf } from './runs.js';
import { METER_SPANS, meterKey, planTiers, type Range, unstoredMeter } from './shared.js';
import { C, inSnapshot, num, rows, type SqlClient, type SqlPool } from './sql.js';

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

// Each interval [s, e) lies inside bucket i, so grouping by i and the dimensions yields the bucket's totals.
// A run's rows are read by one range scan and each row finds its interval by binary search over the run's
// sorted starts (width_bucket), then is kept only when it lies before that interval's end (runs may have
// gaps that other tiers cover). Joining the rows against the intervals instead compared every row with
// every interval (a nested loop with a join filter: 31 × 5,752 comparisons for 30 daily buckets).
const IN_INTERVAL =
  'WHERE m.start < ($4::bigint[])[m.k] GROUP BY m.k, m.app, m.environment, m.machine_type, m.is_surge';
const FILTERS = `AND ($5::text[] IS NULL OR r.app = ANY($5::text[]))
  AND ($6::text IS NULL OR strpos(lower(r.app ${C}), lower($6::text ${C})) > 0)`;
const SELECT = `SELECT ($2::int[])[m.k] AS i, m.app, m.environment, m.machine_type, m.is_surge::int AS is_surge,
  SUM(m.seconds)::float8 AS seconds`;
const ROLLUP_SQL = `${SELECT} FROM (SELECT width_bucket(r.start, $3::bigint[]) AS k, r.app, r.environment,
  r.machine_type, r.is_surge, r.start, r.seconds FROM meter_rollups r WHERE r.owner = $1 AND r.span = $9
  AND r.start >= $7 AND r.start < $8 AND r.seconds > 1e-9 ${FILTERS}) m ${IN_INTERVAL}`;
const MINUTE_SQL = `${SELECT} FROM (SELECT width_bucket(r.minute, $3::bigint[]) AS k, r.app, r.environment,
  r.machine_type, r.is_surge, r.minute AS start, r.seconds FROM meter r WHERE r.owner = $1
  AND r.minute >= $7 AND r.minute < $8 ${FILTERS}) m ${IN_INTERVAL}`;

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

async function readGroups(
  db: SqlClient,
  p: UsageParams,
  span: number,
  iv: [number, number, number][],
): Promise<GroupRow[]> {
  const minutes = span === MINUTE_MS;
  const out: GroupRow[] = [];
  for (const run of runsOf(iv.map(([i, s, e]) => ({ i, s, e })))) {
    const args: unknown[] = [
      p.owner,
      run.map((x) => x.i),
      run.map((x) => x.s),
      run.map((x) => x.e),
      p.apps,
      p.search,
      ...boundsOf(run),
    ];
    if (!minutes) args.push(span);
    const found = await rows<GroupRow>(db, minutes ? MINUTE_SQL : ROLLUP_SQL, args);
    for (const r of found) out.push({ ...r, seconds: num(r.seconds) });
  }
  return out;
}

const STORED_SQL = `SELECT m.runner_id, m.minute::float8 AS minute, m.seconds::float8 AS seconds
  FROM unnest($1::text[], $2::bigint[]) AS k(runner_id, minute)
  JOIN meter m ON m.runner_id = k.runner_id AND m.minute = k.minute`;

/** The live rows' machine time not yet in the meter table (read in the same snapshot as the groups). */
async function readUnstored(db: SqlClient, p: UsageParams): Promise<MeterRecord[]> {
  const live = p.live ?? [];
  if (live.length === 0) return [];
  const found = await rows<{ runner_id: string; minute: number; seconds: number }>(db, STORED_SQL, [
    live.map((r) => r.runnerId),
    live.map((r) => r.minute),
  ]);
  const stored = new Map(found.map((r) => [meterKey(r.runner_id, num(r.minute)), num(r.seconds)]));
  return unstoredMeter(live, stored, p);
}

function add(groups: Groups, r: GroupRow): void {
  const key = `${r.app}\u0000${r.environment}\u0000${r.machine_type}\u0000${r.is_surge}`;
  const g = groups.get(key);
  if (g) g.seconds += r.seconds;
  else groups.set(key, { ...r });
}

/** Sums machine-seconds per (bucket, app, environment, machine type, surge), grouped in SQL per tier. */
async function accumulate(
  db: SqlClient,
  p: UsageParams,
  buckets: Bucket[],
  extra: MeterRecord[],
): Promise<Groups[]> {
  const groups = buckets.map((): Groups => new Map());
  for (const [span, ranges] of planTiers(buckets, METER_SPANS)) {
    for (const r of await readGroups(db, p, span, intervals(buckets, ranges))) add(groups[r.i]!, r);
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

function merge(all: Groups[]): Groups {
  const whole: Groups = new Map();
  for (const groups of all) for (const g of groups.values()) add(whole, g);
  return whole;
}

/** The default environment is reported as null (see query/usage.ts). */
const DEFAULT_ENVIRONMENT = 'main';

function price(p: UsageParams, groups: Groups): UsageRow[] {
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, g]) => {
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
 * Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised, read in one
 * snapshot so the live rows are merged against the same state the totals come from.
 */
export function queryUsage(pool: SqlPool, p: UsageParams): Promise<UsageResult> {
  return inSnapshot(pool, (db) => readUsage(db, p));
}

async function readUsage(db: SqlClient, p: UsageParams): Promise<UsageResult> {
  const out: UsageResult = { nextBucket: null };
  const extra = await readUnstored(db, p);
  let covered: Groups[] | null = null;
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const groups = await accumulate(db, p, buckets, extra);
    out.time_series = buckets.map((b, i) => ({ bucket: b.label, results: price(p, groups[i]!) }));
    const whole = buckets[0]?.start === p.window.startMs && buckets.at(-1)?.end === p.window.endMs;
    if (whole && out.nextBucket === null) covered = groups;
  }
  if (p.summary) {
    const whole = covered
      ? merge(covered)
      : (await accumulate(db, p, [{ start: p.window.startMs, end: p.window.endMs, label: '' }], extra))[0]!;
    out.summary = price(p, whole);
  }
  return out;
}
