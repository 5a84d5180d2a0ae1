import type { ListRequestsParams, RequestsPage } from '@hangar/core';
import {
  keepRequest,
  type PhaseAsk,
  type RequestRow,
  type RowsPage,
  requestPageSteps,
  requestsJson,
  STATUS_CLASS,
} from '../../reads-shared/request-items.js';
import { runStepsAsync } from '../../reads-shared/steps.js';
import { expandEndpoints } from './endpoints.js';
import { C, num, numOrNull, one, rows, type SqlClient } from './sql.js';

const BASE_COLUMNS = `request_id, endpoint_id, sent_at::float8 AS sent_at, started_at::float8 AS started_at,
  ended_at::float8 AS ended_at, status_code::int AS status_code, runner_id, billable_units::float8 AS billable_units`;
const PAYLOAD_COLUMNS =
  'json_input::text AS json_input, json_output::text AS json_output, owner, payload_objects::int AS payload_objects';

function columns(p: ListRequestsParams): string {
  return p.payloads ? `${BASE_COLUMNS}, ${PAYLOAD_COLUMNS}` : BASE_COLUMNS;
}

/** The SQL of one phase: completed rows (`d`) by ended_at or duration, or in-flight rows (`o`) by sent_at. */
function phaseSql(phase: PhaseAsk['phase'], p: ListRequestsParams, withCursor: boolean): string {
  // Completed requests sort by ended_at (or duration, nulls as -1) descending; in-flight ones follow, newest
  // sent first. Ties break on request_id ascending in byte order, the order of the read indexes (020).
  // Qualified, so ORDER BY sorts by the column (in index order), not by the float8 output of the same name.
  const key =
    phase === 'o'
      ? 'requests.sent_at'
      : p.sortBy === 'duration'
        ? 'COALESCE(requests.duration_ms, -1)'
        : 'requests.ended_at';
  const where = [`endpoint_id ${C} = $1`];
  if (phase === 'd') where.push('ended_at >= $2 AND ended_at < $3');
  else where.push("status <> 'COMPLETED' AND ended_at IS NULL AND sent_at >= $2 AND sent_at < $3");
  let n = 4;
  if (p.status) where.push(`status_code / 100 = $${n++}`);
  if (withCursor) {
    where.push(`${key} <= $${n} AND (${key} < $${n} OR request_id ${C} > $${n + 1})`);
    n += 2;
  }
  return `SELECT ${columns(p)}, ${key}::float8 AS k FROM requests WHERE ${where.join(' AND ')}
    ORDER BY ${key} DESC, request_id ${C} LIMIT $${n}`;
}

/** The rows of one phase for every selected endpoint, each endpoint's best `want` (the steps merge them). */
async function fetchPhase(
  db: SqlClient,
  ids: string[],
  p: ListRequestsParams,
  ask: PhaseAsk,
): Promise<RequestRow[]> {
  const after = p.after?.phase === ask.phase ? p.after : null;
  const sql = phaseSql(ask.phase, p, after !== null);
  const all = await Promise.all(
    ids.map((id) => {
      const args: unknown[] = [id, p.startMs, p.endMs];
      if (p.status) args.push(STATUS_CLASS[p.status]);
      if (after) args.push(after.key, after.id);
      args.push(ask.want);
      return rows<RequestRow>(db, sql, args);
    }),
  );
  return all.flat().map(normalise);
}

/** The row with its BIGINT and NUMERIC columns as numbers. */
function normalise(r: RequestRow): RequestRow {
  return {
    ...r,
    sent_at: num(r.sent_at),
    started_at: numOrNull(r.started_at),
    ended_at: numOrNull(r.ended_at),
    billable_units: numOrNull(r.billable_units),
    k: num(r.k),
  };
}

async function byRequestId(db: SqlClient, ids: string[], p: ListRequestsParams): Promise<RequestRow[]> {
  const found = await one<RequestRow>(
    db,
    `SELECT ${columns(p)}, 0 AS k FROM requests WHERE request_id = $1`,
    [p.requestId],
  );
  if (!found) return [];
  const r = normalise(found);
  return keepRequest(r, ids, p) ? [r] : [];
}

/** One page of rows, newest (or longest) first, then in-flight ones, and where the next page starts. */
async function pageRows(db: SqlClient, p: ListRequestsParams): Promise<RowsPage> {
  const ids = await expandEndpoints(db, 'requests', p.endpoints);
  if (p.requestId !== null) return { rows: await byRequestId(db, ids, p), next: null };
  return runStepsAsync(requestPageSteps(p), (ask) => fetchPhase(db, ids, p, ask));
}

/** A requests page serialised with stored payloads spliced in as text. */
export async function requestsPage(db: SqlClient, p: ListRequestsParams): Promise<RequestsPage> {
  return requestsJson(await pageRows(db, p), p);
}
