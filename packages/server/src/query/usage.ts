import {
  type Bucket,
  findBucket,
  listBuckets,
  MINUTE_MS,
  priceUsage,
  type TimeWindow,
  type UsageRow,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { prepared } from './statements.js';
import { planTiers, type Range } from './tiers.js';

/** Price inputs of one machine type. */
export interface MachinePrice {
  unitPrice: number;
  surgeMultiplier: number;
}

/** Parameters of `queryUsage` (already validated by the route). */
export interface UsageParams {
  owner: string;
  /** Exact app names (owner prefix stripped), or null for all. */
  apps: string[] | null;
  /** Case-insensitive substring of the app name, or null. */
  search: string | null;
  window: TimeWindow;
  fromMs: number | null;
  limit: number;
  timeSeries: boolean;
  summary: boolean;
  prices: Record<string, MachinePrice>;
  percentDiscount: number | null;
  currency: string;
}

/** A page of usage and the start of the next page's first bucket. */
export interface UsageResult {
  time_series?: { bucket: string; results: UsageRow[] }[];
  summary?: UsageRow[];
  nextBucket: number | null;
}

interface MeterRow {
  t: number;
  app: string;
  environment: string;
  machine_type: string;
  is_surge: number;
  seconds: number;
}

type Groups = Map<string, MeterRow>;

const FILTERS =
  `AND (@apps IS NULL OR app IN (SELECT value FROM json_each(@apps))) ` +
  `AND (@search IS NULL OR instr(lower(app), lower(@search)) > 0)`;
const ROLLUP_SQL = `SELECT start AS t, app, environment, machine_type, is_surge, seconds FROM meter_rollups
  WHERE owner = @owner AND span = @span AND start >= @from AND start < @to AND seconds > 1e-9 ${FILTERS}`;
const MINUTE_SQL = `SELECT minute AS t, app, environment, machine_type, is_surge, SUM(seconds) AS seconds FROM meter
  WHERE owner = @owner AND minute >= @from AND minute < @to ${FILTERS}
  GROUP BY minute, app, environment, machine_type, is_surge`;

function readMeter(db: Database.Database, p: UsageParams, span: number, ranges: Range[]): MeterRow[] {
  const minutes = span === MINUTE_MS;
  const stmt = prepared(db, minutes ? MINUTE_SQL : ROLLUP_SQL);
  const apps = p.apps === null ? null : JSON.stringify(p.apps);
  const rows: MeterRow[] = [];
  for (const [from, to] of ranges) {
    const args = { apps, search: p.search, owner: p.owner, from, to, ...(minutes ? {} : { span }) };
    rows.push(...(stmt.all(args) as MeterRow[]));
  }
  return rows;
}

/** Sums machine-seconds per (bucket, app, environment, machine type, surge). */
function accumulate(db: Database.Database, p: UsageParams, buckets: Bucket[]): Groups[] {
  const groups = buckets.map((): Groups => new Map());
  const plan = planTiers(buckets);
  const rows = [...plan].flatMap(([span, ranges]) => readMeter(db, p, span, ranges));
  for (const r of rows) {
    const i = findBucket(buckets, r.t);
    if (i < 0) continue;
    const key = `${r.app}\u0000${r.environment}\u0000${r.machine_type}\u0000${r.is_surge}`;
    const g = groups[i]!.get(key);
    if (g) g.seconds += r.seconds;
    else groups[i]!.set(key, { ...r });
  }
  return groups;
}

function price(p: UsageParams, groups: Groups): UsageRow[] {
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, g]) => {
      // A machine type missing from the configuration is reported at price 0 rather than dropped.
      const machine = p.prices[g.machine_type] ?? { unitPrice: 0, surgeMultiplier: 1 };
      return priceUsage({
        app: g.app,
        environment: g.environment,
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

/** Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised. */
export function queryUsage(db: Database.Database, p: UsageParams): UsageResult {
  const out: UsageResult = { nextBucket: null };
  if (p.timeSeries) {
    const page = listBuckets(p.window, p.limit + 1, p.fromMs ?? p.window.startMs);
    const buckets = page.slice(0, p.limit);
    out.nextBucket = page.length > p.limit ? page[p.limit]!.start : null;
    const groups = accumulate(db, p, buckets);
    out.time_series = buckets.map((b, i) => ({ bucket: b.label, results: price(p, groups[i]!) }));
  }
  if (p.summary) {
    const [whole] = accumulate(db, p, [{ start: p.window.startMs, end: p.window.endMs, label: '' }]);
    out.summary = price(p, whole!);
  }
  return out;
}
