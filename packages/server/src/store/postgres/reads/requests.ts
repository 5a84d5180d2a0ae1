import type { ListRequestsParams, PayloadAt, RequestItem, RequestPosition, RequestsPage } from '@hangar/core';
import { PayloadPart } from '@hangar/core';
import { expandEndpoints } from './endpoints.js';
import { C, num, numOrNull, one, rows, type SqlClient } from './sql.js';

interface Row {
  request_id: string;
  endpoint_id: string;
  sent_at: number;
  started_at: number | null;
  ended_at: number | null;
  status_code: number | null;
  runner_id: string | null;
  billable_units: number | null;
  json_input?: string | null;
  json_output?: string | null;
  owner?: string;
  payload_objects?: number;
  k: number;
}

const STATUS_CLASS = { success: 2, user_error: 4, error: 5 } as const;
const BASE_COLUMNS = `request_id, endpoint_id, sent_at::float8 AS sent_at, started_at::float8 AS started_at,
  ended_at::float8 AS ended_at, status_code::int AS status_code, runner_id, billable_units::float8 AS billable_units`;
const PAYLOAD_COLUMNS =
  'json_input::text AS json_input, json_output::text AS json_output, owner, payload_objects::int AS payload_objects';

function columns(p: ListRequestsParams): string {
  return p.payloads ? `${BASE_COLUMNS}, ${PAYLOAD_COLUMNS}` : BASE_COLUMNS;
}

/** The SQL of one phase: completed rows (`d`) by ended_at or duration, or in-flight rows (`o`) by sent_at. */
function phaseSql(phase: 'd' | 'o', p: ListRequestsParams, withCursor: boolean): string {
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

function byKey(a: Row, b: Row): number {
  return b.k - a.k || (a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : 0);
}

async function fetchPhase(
  db: SqlClient,
  ids: string[],
  phase: 'd' | 'o',
  p: ListRequestsParams,
  want: number,
): Promise<Row[]> {
  const after = p.after?.phase === phase ? p.after : null;
  const sql = phaseSql(phase, p, after !== null);
  const all = await Promise.all(
    ids.map((id) => {
      const args: unknown[] = [id, p.startMs, p.endMs];
      if (p.status) args.push(STATUS_CLASS[p.status]);
      if (after) args.push(after.key, after.id);
      args.push(want);
      return rows<Row>(db, sql, args);
    }),
  );
  return all.flat().map(normalise).sort(byKey).slice(0, want);
}

function normalise(r: Row): Row {
  return {
    ...r,
    sent_at: num(r.sent_at),
    started_at: numOrNull(r.started_at),
    ended_at: numOrNull(r.ended_at),
    billable_units: numOrNull(r.billable_units),
    k: num(r.k),
  };
}

async function byRequestId(db: SqlClient, ids: string[], p: ListRequestsParams): Promise<Row[]> {
  const found = await one<Row>(db, `SELECT ${columns(p)}, 0 AS k FROM requests WHERE request_id = $1`, [
    p.requestId,
  ]);
  if (!found || !ids.includes(found.endpoint_id) || p.after || (p.offset ?? 0) > 0) return [];
  const r = normalise(found);
  const t = r.ended_at ?? r.sent_at;
  if (t < p.startMs || t >= p.endMs) return [];
  if (p.status && (r.status_code === null || Math.floor(r.status_code / 100) !== STATUS_CLASS[p.status]))
    return [];
  return [r];
}

/** One page of rows, newest (or longest) first, then in-flight ones, and where the next page starts. */
async function pageRows(
  db: SqlClient,
  p: ListRequestsParams,
): Promise<{ rows: Row[]; next: RequestPosition | null }> {
  const ids = await expandEndpoints(db, 'requests', p.endpoints);
  if (p.requestId !== null) return { rows: await byRequestId(db, ids, p), next: null };
  const offset = p.offset ?? 0;
  const want = offset + p.limit + 1;
  const found: { row: Row; phase: 'd' | 'o' }[] = [];
  if (p.after?.phase !== 'o')
    found.push(...(await fetchPhase(db, ids, 'd', p, want)).map((row) => ({ row, phase: 'd' as const })));
  // In-flight requests have no status code, so a status filter leaves them out.
  if (found.length < want && p.status === null) {
    const open = await fetchPhase(db, ids, 'o', p, want - found.length);
    found.push(...open.map((row) => ({ row, phase: 'o' as const })));
  }
  const page = found.slice(offset, offset + p.limit);
  const last = page.at(-1);
  const next =
    found.length > offset + p.limit && last
      ? { phase: last.phase, key: last.row.k, id: last.row.request_id }
      : null;
  return { rows: page.map(({ row }) => row), next };
}

const iso = (ms: number) => new Date(ms).toISOString();

function baseItem(r: Row): RequestItem {
  return {
    request_id: r.request_id,
    endpoint_id: r.endpoint_id,
    started_at: iso(r.started_at ?? r.sent_at),
    sent_at: iso(r.sent_at),
    ended_at: r.ended_at === null ? null : iso(r.ended_at),
    status_code: r.status_code,
    // From sent to ended, queue time included (as query/requests.ts explains).
    duration: r.ended_at === null ? null : (r.ended_at - r.sent_at) / 1000,
    runner_id: r.runner_id,
  };
}

/** Stored payload text as it is when it parses (the object is dropped), else null. */
function payloadJson(text: string | null | undefined): string {
  if (text == null) return 'null';
  try {
    JSON.parse(text);
    return text;
  } catch {
    return 'null';
  }
}

function objectAt(page: RequestsPage, r: Row, which: 'input' | 'output'): PayloadAt {
  return { at: page.json.length, owner: r.owner ?? '', requestId: r.request_id, which };
}

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

/** A requests page serialised with stored payloads spliced in as text (see query/requests.ts). */
export async function requestsPage(db: SqlClient, p: ListRequestsParams): Promise<RequestsPage> {
  const { rows: page, next } = await pageRows(db, p);
  const out: RequestsPage = { json: '{"items":[', objects: [], next };
  page.forEach((r, i) => {
    if (i > 0) out.json += ',';
    appendItem(out, r, p);
  });
  out.json += ']}';
  return out;
}
