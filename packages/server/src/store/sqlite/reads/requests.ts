import type {
  EndpointSelector,
  ListRequestsParams,
  RequestItem,
  RequestPosition,
  RequestsPage,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { decodePayload } from '../../payload.js';
import {
  baseItem,
  keepRequest,
  type PhaseAsk,
  type RequestRow,
  type RowsPage,
  requestPageSteps,
  requestsJson,
  STATUS_CLASS,
} from '../../reads-shared/request-items.js';
import { runSteps } from '../../reads-shared/steps.js';
import { distinctEndpoints, prepared } from './statements.js';

/** A page of items and the position after its last item when more follow. */
export interface ListRequestsResult {
  items: RequestItem[];
  next: RequestPosition | null;
}

const BASE_COLUMNS =
  'request_id, endpoint_id, sent_at, started_at, ended_at, status_code, duration_ms, runner_id, billable_units';
const PAYLOAD_COLUMNS = 'json_input, json_output, owner, payload_objects';

/** Concrete (route-level) endpoint ids the selectors cover: bare ids expand to every recorded route. */
export function expandEndpoints(
  db: Database.Database,
  table: 'requests' | 'request_rollups',
  sel: EndpointSelector[],
): string[] {
  const out = new Set<string>();
  for (const s of sel) {
    out.add(s.id);
    if (s.bare) for (const id of distinctEndpoints(db, table, s.id)) out.add(id);
  }
  return [...out];
}

/** Windows longer than this walk the duration index rather than sorting the window's rows. */
const SORT_IN_MEMORY_MAX_MS = 24 * 60 * 60 * 1000;

/** The index a completed-requests page walks, so the plan never depends on table statistics. */
function indexFor(p: ListRequestsParams): string {
  if (p.sortBy === 'duration') {
    return p.endMs - p.startMs > SORT_IN_MEMORY_MAX_MS
      ? 'requests_endpoint_duration'
      : 'requests_endpoint_ended';
  }
  return p.status ? 'requests_endpoint_class_ended' : 'requests_endpoint_ended';
}

function sql(phase: PhaseAsk['phase'], p: ListRequestsParams, withCursor: boolean): string {
  const cols = p.payloads ? `${BASE_COLUMNS}, ${PAYLOAD_COLUMNS}` : BASE_COLUMNS;
  // Completed requests sort by ended_at (or duration, nulls as -1) descending; in-flight ones follow, newest
  // sent first. Ties break on request_id ascending, the order of every index used here.
  const key = phase === 'o' ? 'sent_at' : p.sortBy === 'duration' ? 'COALESCE(duration_ms, -1)' : 'ended_at';
  const where = ['endpoint_id = ?'];
  if (phase === 'd') where.push('ended_at >= ? AND ended_at < ?');
  // In-flight rows are few: the partial index of unfinished requests finds them without a window scan.
  else where.push("status <> 'COMPLETED' AND ended_at IS NULL AND sent_at >= ? AND sent_at < ?");
  if (p.status) where.push('status_code / 100 = ?');
  if (withCursor) where.push(`${key} <= ? AND (${key} < ? OR request_id > ?)`);
  const from = `requests INDEXED BY ${phase === 'd' ? indexFor(p) : 'requests_unfinished'}`;
  return `SELECT ${cols}, ${key} AS k FROM ${from} WHERE ${where.join(' AND ')} ORDER BY k DESC, request_id LIMIT ?`;
}

/** The rows of one phase for every selected endpoint, each endpoint's best `want` (the steps merge them). */
function fetchPhase(
  db: Database.Database,
  ids: string[],
  p: ListRequestsParams,
  ask: PhaseAsk,
): RequestRow[] {
  const after = p.after?.phase === ask.phase ? p.after : null;
  const stmt = prepared(db, sql(ask.phase, p, after !== null));
  const rows: RequestRow[] = [];
  for (const id of ids) {
    const args: unknown[] = [id, p.startMs, p.endMs];
    if (p.status) args.push(STATUS_CLASS[p.status]);
    if (after) args.push(after.key, after.key, after.id);
    args.push(ask.want);
    rows.push(...(stmt.all(...args) as RequestRow[]));
  }
  return rows;
}

function toItem(r: RequestRow, p: ListRequestsParams): RequestItem {
  const item = baseItem(r);
  if (p.payloads) {
    item.json_input = decodePayload(r.json_input);
    item.json_output = decodePayload(r.json_output);
  }
  if (p.billing) item.billable_units = r.billable_units;
  return item;
}

function byRequestId(db: Database.Database, ids: string[], p: ListRequestsParams): RequestRow[] {
  const cols = p.payloads ? `${BASE_COLUMNS}, ${PAYLOAD_COLUMNS}` : BASE_COLUMNS;
  const r = prepared(db, `SELECT ${cols}, 0 AS k FROM requests WHERE request_id = ?`).get(p.requestId) as
    | RequestRow
    | undefined;
  return r && keepRequest(r, ids, p) ? [r] : [];
}

/** One page of rows, newest (or longest) first, then in-flight ones, and where the next page starts. */
function pageRows(db: Database.Database, p: ListRequestsParams): RowsPage {
  const ids = expandEndpoints(db, 'requests', p.endpoints);
  if (p.requestId !== null) return { rows: byRequestId(db, ids, p), next: null };
  return runSteps(requestPageSteps(p), (ask) => fetchPhase(db, ids, p, ask));
}

/** One page of requests to the selected endpoints, newest (or longest) first, then in-flight ones. */
export function listRequests(db: Database.Database, p: ListRequestsParams): ListRequestsResult {
  const { rows, next } = pageRows(db, p);
  return { items: rows.map((r) => toItem(r, p)), next };
}

/** `listRequests` serialised on the query thread, with stored payloads spliced in as text. */
export function listRequestsJson(db: Database.Database, p: ListRequestsParams): RequestsPage {
  return requestsJson(pageRows(db, p), p);
}
