import { type MeterRecord, MINUTE_MS, type UsageParams, type UsageResult } from '@hangar/core';
import { meterKey, unstoredMeter } from '../../live-usage.js';
import { runStepsAsync } from '../../reads-shared/steps.js';
import { type GroupAsk, type GroupRow, usageSteps } from '../../reads-shared/usage-groups.js';
import { boundsOf, runsOf } from './runs.js';
import { C, inSnapshot, num, rows, type SqlClient, type SqlPool } from './sql.js';

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

async function readGroups(
  db: SqlClient,
  p: UsageParams,
  { span, intervals: iv }: GroupAsk,
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

/**
 * Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised, read in one
 * snapshot so the live rows are merged against the same state the totals come from.
 */
export function queryUsage(pool: SqlPool, p: UsageParams): Promise<UsageResult> {
  return inSnapshot(pool, async (db) =>
    runStepsAsync(usageSteps(p, await readUnstored(db, p)), (ask) => readGroups(db, p, ask)),
  );
}
