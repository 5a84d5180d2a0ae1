import {
  type EndpointSelector,
  type ListRequestsParams,
  type PayloadAt,
  PayloadPart,
  type RequestItem,
  type RequestPosition,
  type RequestsPage,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { decodePayload } from '../../payload.js';
import { distinctEndpoints, prepared } from './statements.js';

/** A page of items and the position after its last item when more follow. */
export interface ListRequestsResult {
  items: RequestItem[];
  next: RequestPosition | null;
}

interface Row {
  request_id: string;
  endpoint_id: string;
  sent_at: number;
  started_at: number | null;
  ended_at: number | null;
  status_code: number | null;
  duration_ms: number | null;
  runner_id: string | null;
  billable_units: number | null;
  json_input?: string | null;
  json_output?: string | null;
  owner?: string;
  payload_objects?: number;
  k: number;
}

const STATUS_CLASS = { success: 2, user_error: 4, error: 5 } as const;
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

function sql(phase: 'd' | 'o', p: ListRequestsParams, withCursor: boolean): string {
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

function fetchPhase(
  db: Database.Database,
  ids: string[],
  phase: 'd' | 'o',
  p: ListRequestsParams,
  want: number,
): Row[] {
  const after = p.after?.phase === phase ? p.after : null;
  const stmt = prepared(db, sql(phase, p, after !== null));
  const rows: Row[] = [];
  for (const id of ids) {
    const args: unknown[] = [id, p.startMs, p.endMs];
    if (p.status) args.push(STATUS_CLASS[p.status]);
    if (after) args.push(after.key, after.key, after.id);
    args.push(want);
    rows.push(...(stmt.all(...args) as Row[]));
  }
  rows.sort((a, b) => b.k - a.k || (a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : 0));
  return rows.slice(0, want);
}

const iso = (ms: number) => new Date(ms).toISOString();

function baseItem(r: Row): RequestItem {
  return {
    request_id: r.request_id,
    endpoint_id: r.endpoint_id,
    // fal requires started_at; a request that never reached a runner reports when it was sent.
    started_at: iso(r.started_at ?? r.sent_at),
    sent_at: iso(r.sent_at),
    ended_at: r.ended_at === null ? null : iso(r.ended_at),
    status_code: r.status_code,
    // fal: "total request duration" (its example: sent 00:01, started 00:05, ended 00:08, duration 7.8),
    // so from sent to ended, queue time included; execution time alone is in analytics' `duration`.
    duration: r.ended_at === null ? null : (r.ended_at - r.sent_at) / 1000,
    runner_id: r.runner_id,
  };
}

function toItem(r: Row, p: ListRequestsParams): RequestItem {
  const item = baseItem(r);
  if (p.payloads) {
    item.json_input = decodePayload(r.json_input);
    item.json_output = decodePayload(r.json_output);
  }
  if (p.billing) item.billable_units = r.billable_units;
  return item;
}

/**
 * Appends the item as JSON text to `page.json`, with the stored payload texts spliced in unparsed (same
 * fields and order). A payload kept as an object is left out and its place recorded in `page.objects`.
 */
function appendItem(page: RequestsPage, r: Row, p: ListRequestsParams): void {
  page.json += JSON.stringify(baseItem(r)).slice(0, -1);
  if (p.payloads) {
    const parts = r.payload_objects ?? 0;
    page.json += ',"json_input":';
    if (parts & PayloadPart.jsonInput) page.objects.push(objectAt(page, r, 'input'));
    else page.json += payloadJson(r.json_input);
    page.json += ',"json_output":';
    if (parts & PayloadPart.jsonOutput) page.objects.push(objectAt(page, r, 'output'));
    else page.json += payloadJson(r.json_output);
  }
  if (p.billing) page.json += `,"billable_units":${JSON.stringify(r.billable_units)}`;
  page.json += '}';
}

function objectAt(page: RequestsPage, r: Row, which: 'input' | 'output'): PayloadAt {
  return { at: page.json.length, owner: r.owner ?? '', requestId: r.request_id, which };
}

/**
 * Stored payload text as it is, checked by parsing it (V8's parser does not recurse, so any depth is
 * fine; the object is dropped). Text that is not JSON, which the store never writes, becomes null.
 */
function payloadJson(text: string | null | undefined): string {
  if (text == null) return 'null';
  try {
    JSON.parse(text);
    return text;
  } catch {
    return 'null';
  }
}

function byRequestId(db: Database.Database, ids: string[], p: ListRequestsParams): Row[] {
  const cols = p.payloads ? `${BASE_COLUMNS}, ${PAYLOAD_COLUMNS}` : BASE_COLUMNS;
  const r = prepared(db, `SELECT ${cols}, 0 AS k FROM requests WHERE request_id = ?`).get(p.requestId) as
    | Row
    | undefined;
  if (!r || !ids.includes(r.endpoint_id) || p.after || (p.offset ?? 0) > 0) return [];
  const t = r.ended_at ?? r.sent_at;
  if (t < p.startMs || t >= p.endMs) return [];
  if (p.status && (r.status_code === null || Math.floor(r.status_code / 100) !== STATUS_CLASS[p.status]))
    return [];
  return [r];
}

/** One page of rows, newest (or longest) first, then in-flight ones, and where the next page starts. */
function pageRows(
  db: Database.Database,
  p: ListRequestsParams,
): { rows: Row[]; next: RequestPosition | null } {
  const ids = expandEndpoints(db, 'requests', p.endpoints);
  if (p.requestId !== null) return { rows: byRequestId(db, ids, p), next: null };
  const offset = p.offset ?? 0;
  const want = offset + p.limit + 1;
  const rows: { row: Row; phase: 'd' | 'o' }[] = [];
  if (p.after?.phase !== 'o')
    rows.push(...fetchPhase(db, ids, 'd', p, want).map((row) => ({ row, phase: 'd' as const })));
  // In-flight requests have no status code, so a status filter leaves them out.
  if (rows.length < want && p.status === null) {
    rows.push(
      ...fetchPhase(db, ids, 'o', p, want - rows.length).map((row) => ({ row, phase: 'o' as const })),
    );
  }
  const page = rows.slice(offset, offset + p.limit);
  const last = page.at(-1);
  const next =
    rows.length > offset + p.limit && last
      ? { phase: last.phase, key: last.row.k, id: last.row.request_id }
      : null;
  return { rows: page.map(({ row }) => row), next };
}

/** One page of requests to the selected endpoints, newest (or longest) first, then in-flight ones. */
export function listRequests(db: Database.Database, p: ListRequestsParams): ListRequestsResult {
  const { rows, next } = pageRows(db, p);
  return { items: rows.map((r) => toItem(r, p)), next };
}

/**
 * `listRequests` serialised on the query thread, with stored payloads spliced in as text. Nothing then
 * clones, parses or stringifies a payload as an object, so no stored payload, however deeply nested
 * (rows written before `limits.json_input`, or any runner's output), can exhaust a thread's stack.
 */
export function listRequestsJson(db: Database.Database, p: ListRequestsParams): RequestsPage {
  const { rows, next } = pageRows(db, p);
  const page: RequestsPage = { json: '{"items":[', objects: [], next };
  rows.forEach((r, i) => {
    if (i > 0) page.json += ',';
    appendItem(page, r, p);
  });
  page.json += ']}';
  return page;
}
