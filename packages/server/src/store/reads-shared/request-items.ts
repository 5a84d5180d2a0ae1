import {
  type ListRequestsParams,
  type PayloadAt,
  PayloadPart,
  type RequestItem,
  type RequestPosition,
  type RequestsPage,
} from '@hangar/core';
import type { ReadSteps } from './steps.js';

/** A `requests` row as a page reads it (epoch ms as numbers), with its sort key `k`. */
export interface RequestRow {
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

/** The status-code class (`status_code / 100`) of each status filter. */
export const STATUS_CLASS = { success: 2, user_error: 4, error: 5 } as const;

/**
 * Rows of one phase to read, newest (or longest) first, for each selected endpoint: completed ones (`d`)
 * or in-flight ones (`o`), after `p.after` when it is in this phase, at most `want` per endpoint.
 */
export interface PhaseAsk {
  phase: 'd' | 'o';
  want: number;
}

/** A page of rows and the position after its last one when more follow. */
export interface RowsPage {
  rows: RequestRow[];
  next: RequestPosition | null;
}

/** Sort key descending, then request id ascending in byte order: the order of every page. */
function byKey(a: RequestRow, b: RequestRow): number {
  return b.k - a.k || (a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : 0);
}

/** One page of rows, newest (or longest) first, then in-flight ones, and where the next page starts. */
export function* requestPageSteps(p: ListRequestsParams): ReadSteps<PhaseAsk, RequestRow[], RowsPage> {
  const offset = p.offset ?? 0;
  const want = offset + p.limit + 1;
  const found: { row: RequestRow; phase: 'd' | 'o' }[] = [];
  if (p.after?.phase !== 'o') {
    const done: RequestRow[] = yield { phase: 'd', want };
    found.push(
      ...done
        .sort(byKey)
        .slice(0, want)
        .map((row) => ({ row, phase: 'd' as const })),
    );
  }
  // In-flight requests have no status code, so a status filter leaves them out.
  if (found.length < want && p.status === null) {
    const rest = want - found.length;
    const open: RequestRow[] = yield { phase: 'o', want: rest };
    found.push(
      ...open
        .sort(byKey)
        .slice(0, rest)
        .map((row) => ({ row, phase: 'o' as const })),
    );
  }
  const page = found.slice(offset, offset + p.limit);
  const last = page.at(-1);
  const next =
    found.length > offset + p.limit && last
      ? { phase: last.phase, key: last.row.k, id: last.row.request_id }
      : null;
  return { rows: page.map(({ row }) => row), next };
}

/** Whether the row found by `p.requestId` belongs on the page: selected, in the window, of the status. */
export function keepRequest(r: RequestRow, ids: readonly string[], p: ListRequestsParams): boolean {
  if (!ids.includes(r.endpoint_id) || p.after || (p.offset ?? 0) > 0) return false;
  const t = r.ended_at ?? r.sent_at;
  return t >= p.startMs && t < p.endMs && statusMatches(r.status_code, p.status);
}

/** Whether a status code is of the filter's class; without a filter every row is, in flight or not. */
export function statusMatches(code: number | null, status: ListRequestsParams['status']): boolean {
  return !status || (code !== null && Math.floor(code / 100) === STATUS_CLASS[status]);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The item's fields every page has. */
export function baseItem(r: RequestRow): RequestItem {
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

function objectAt(page: RequestsPage, r: RequestRow, which: 'input' | 'output'): PayloadAt {
  return { at: page.json.length, owner: r.owner ?? '', requestId: r.request_id, which };
}

/**
 * Appends the item as JSON text to `page.json`, with the stored payload texts spliced in unparsed (same
 * fields and order). A payload kept as an object is left out and its place recorded in `page.objects`.
 */
function appendItem(page: RequestsPage, r: RequestRow, p: ListRequestsParams): void {
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

/**
 * A requests page serialised with the stored payloads spliced in as text. Nothing then clones, parses or
 * stringifies a payload as an object, so no stored payload, however deeply nested (rows written before
 * `limits.json_input`, or any runner's output), can exhaust a thread's stack.
 */
export function requestsJson({ rows, next }: RowsPage, p: ListRequestsParams): RequestsPage {
  const page: RequestsPage = { json: '{"items":[', objects: [], next };
  rows.forEach((r, i) => {
    if (i > 0) page.json += ',';
    appendItem(page, r, p);
  });
  page.json += ']}';
  return page;
}
