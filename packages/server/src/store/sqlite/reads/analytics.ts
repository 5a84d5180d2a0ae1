import type { AnalyticsParams, AnalyticsResult } from '@hangar/core';
import type Database from 'better-sqlite3';
import { COUNT_COLUMNS } from '../../../telemetry/request-rollup.js';
import type { RollupRow, SketchColumn } from '../../reads-shared/analytics-cells.js';
import { analyticsSteps, type RollupAsk } from '../../reads-shared/analytics-page.js';
import { runSteps } from '../../reads-shared/steps.js';
import type { Range } from '../../reads-shared/tiers.js';
import { expandEndpoints } from './requests.js';
import { prepared } from './statements.js';

function readRows(
  db: Database.Database,
  ids: string[],
  span: number,
  ranges: Range[],
  sketches: readonly SketchColumn[],
): RollupRow[] {
  const cols = [...COUNT_COLUMNS, ...sketches].join(', ');
  const stmt = prepared(
    db,
    `SELECT endpoint_id, start, ${cols} FROM request_rollups WHERE endpoint_id = ? AND span = ? AND start >= ? AND start < ?`,
  ).raw(true);
  const rows: RollupRow[] = [];
  for (const id of ids) {
    for (const [from, to] of ranges)
      for (const row of stmt.all(id, span, from, to) as RollupRow[]) rows.push(row);
  }
  return rows;
}

/** Time-bucketed and/or summary analytics of the selected endpoints, from the request rollups. */
export function queryAnalytics(db: Database.Database, p: AnalyticsParams): AnalyticsResult {
  const ids = expandEndpoints(db, 'request_rollups', p.endpoints).sort();
  return runSteps(analyticsSteps(p, ids), ({ tiers, sketches }: RollupAsk) =>
    tiers.flatMap(([span, ranges]) => readRows(db, ids, span, ranges, sketches)),
  );
}
