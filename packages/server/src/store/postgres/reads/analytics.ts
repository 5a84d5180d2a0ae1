import type { AnalyticsParams, AnalyticsResult } from '@hangar/core';
import { COUNT_COLUMNS } from '../../../telemetry/request-rollup.js';
import type { RollupRow, SketchColumn } from '../../reads-shared/analytics-cells.js';
import { analyticsSteps } from '../../reads-shared/analytics-page.js';
import { runStepsAsync } from '../../reads-shared/steps.js';
import { expandEndpoints } from './endpoints.js';
import { boundsOf, runsOf } from './runs.js';
import { num, rows, type SqlClient } from './sql.js';

type Found = Record<string, unknown>;

/** The rollup rows of every endpoint and range of one span, in one statement. */
async function readRows(
  db: SqlClient,
  ids: string[],
  span: number,
  ranges: readonly (readonly [number, number])[],
  sketches: readonly SketchColumn[],
): Promise<RollupRow[]> {
  const counts = COUNT_COLUMNS.map((c) => `r.${c}::float8 AS ${c}`);
  const cols = [...counts, ...sketches.map((s) => `r.${s}`)].join(', ');
  const sql = `SELECT r.endpoint_id, r.start::float8 AS start, ${cols}
    FROM unnest($2::bigint[], $3::bigint[]) AS g(lo, hi)
    JOIN request_rollups r ON r.endpoint_id = ANY($1::text[]) AND r.span = $4 AND r.start >= g.lo AND r.start < g.hi
    WHERE r.start >= $5 AND r.start < $6`;
  const out: RollupRow[] = [];
  for (const run of runsOf(ranges.map(([s, e]) => ({ s, e })))) {
    const args = [ids, run.map((r) => r.s), run.map((r) => r.e), span, ...boundsOf(run)];
    for (const r of await rows<Found>(db, sql, args)) out.push(positional(r, sketches));
  }
  return out;
}

/** A row in the positional shape the shared cells read. */
function positional(r: Found, sketches: readonly SketchColumn[]): RollupRow {
  return [r.endpoint_id, num(r.start), ...COUNT_COLUMNS.map((c) => num(r[c])), ...sketches.map((s) => r[s])];
}

/** Time-bucketed and/or summary analytics of the selected endpoints, from the request rollups. */
export async function analyticsPage(db: SqlClient, p: AnalyticsParams): Promise<AnalyticsResult> {
  const ids = (await expandEndpoints(db, 'request_rollups', p.endpoints)).sort();
  return runStepsAsync(analyticsSteps(p, ids), async ({ tiers, sketches }) => {
    if (ids.length === 0) return [];
    const read = await Promise.all(tiers.map(([span, ranges]) => readRows(db, ids, span, ranges, sketches)));
    return read.flat();
  });
}
