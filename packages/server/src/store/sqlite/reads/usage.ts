import { type MeterRecord, MINUTE_MS, type UsageParams, type UsageResult } from '@hangar/core';
import type Database from 'better-sqlite3';
import { meterKey, unstoredMeter } from '../../live-usage.js';
import { runSteps } from '../../reads-shared/steps.js';
import { type GroupAsk, type GroupRow, usageSteps } from '../../reads-shared/usage-groups.js';
import { prepared } from './statements.js';

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

function readGroups(db: Database.Database, p: UsageParams, { span, intervals: iv }: GroupAsk): GroupRow[] {
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

/**
 * Machine-time usage of one owner's apps, priced per machine type, bucketed and/or summarised. One read
 * transaction, so the live rows are merged against the same snapshot the totals come from.
 */
export function queryUsage(db: Database.Database, p: UsageParams): UsageResult {
  return db.transaction(() =>
    runSteps(usageSteps(p, readUnstored(db, p)), (ask) => readGroups(db, p, ask)),
  )();
}
