import {
  type ListRequestsParams,
  PayloadPart,
  type RequestItem,
  type RequestPosition,
  type RequestsPage,
} from '@hangar/core';
import type { MemoryRequestRow } from '../requests.js';
import { FirstK } from './first-k.js';
import { compareIds, endpointMatcher, type MemoryReadTables } from './tables.js';

// The requests page over the memory request rows, with the SQLite reads' rules (sqlite/reads/requests.ts):
// completed requests by end (or duration, none as -1) descending, then in-flight ones by sent descending,
// ties on request id ascending; cursors resume strictly after (phase, key, id).

const STATUS_CLASS = { success: 2, user_error: 4, error: 5 } as const;

/** A row of one phase with its sort key. */
interface Keyed {
  row: MemoryRequestRow;
  phase: 'd' | 'o';
  k: number;
}

function keyOf(rec: MemoryRequestRow['rec'], phase: 'd' | 'o', p: ListRequestsParams): number {
  if (phase === 'o') return rec.sentAt;
  return p.sortBy === 'duration' ? (rec.durationMs ?? -1) : (rec.endedAt as number);
}

function statusOk(code: number | null, p: ListRequestsParams): boolean {
  return p.status === null || (code !== null && Math.floor(code / 100) === STATUS_CLASS[p.status]);
}

/** The phase a row lists in within the window, or null when it is outside it. */
function phaseOf(rec: MemoryRequestRow['rec'], p: ListRequestsParams): 'd' | 'o' | null {
  if (rec.endedAt !== null) return rec.endedAt >= p.startMs && rec.endedAt < p.endMs ? 'd' : null;
  if (rec.status === 'COMPLETED') return null;
  return rec.sentAt >= p.startMs && rec.sentAt < p.endMs ? 'o' : null;
}

/** Whether a keyed row comes strictly after the cursor in the listing order. */
function afterCursor(r: Keyed, at: RequestPosition | null): boolean {
  if (at === null) return true;
  if (at.phase !== r.phase) return at.phase === 'd'; // every in-flight row follows every completed one
  return r.k < at.key || (r.k === at.key && r.row.rec.requestId > at.id);
}

const order = (a: Keyed, b: Keyed) =>
  (a.phase === b.phase ? 0 : a.phase === 'd' ? -1 : 1) ||
  b.k - a.k ||
  compareIds(a.row.rec.requestId, b.row.rec.requestId);

function byRequestId(t: MemoryReadTables, p: ListRequestsParams, covers: (id: string) => boolean): Keyed[] {
  if (p.after || (p.offset ?? 0) > 0) return [];
  for (const row of t.requests.readRows()) {
    const rec = row.rec;
    if (rec.requestId !== p.requestId) continue;
    const at = rec.endedAt ?? rec.sentAt;
    if (!covers(rec.endpointId) || at < p.startMs || at >= p.endMs || !statusOk(rec.statusCode, p)) return [];
    return [{ row, phase: 'd', k: 0 }];
  }
  return [];
}

/** The page's rows and where the next page starts. */
function pageRows(
  t: MemoryReadTables,
  p: ListRequestsParams,
): { rows: Keyed[]; next: RequestPosition | null } {
  const covers = endpointMatcher(p.endpoints);
  if (p.requestId !== null) return { rows: byRequestId(t, p, covers), next: null };
  const offset = p.offset ?? 0;
  // One row past the page tells whether another page follows.
  const found = new FirstK<Keyed>(offset + p.limit + 1, order);
  for (const row of t.requests.readRows()) {
    const rec = row.rec;
    if (!covers(rec.endpointId)) continue;
    const phase = phaseOf(rec, p);
    // In-flight requests have no status code, so a status filter leaves them out.
    if (phase === null || (phase === 'd' ? !statusOk(rec.statusCode, p) : p.status !== null)) continue;
    const keyed: Keyed = { row, phase, k: keyOf(rec, phase, p) };
    if (afterCursor(keyed, p.after)) found.offer(keyed);
  }
  const sorted = found.sorted();
  const rows = sorted.slice(offset, offset + p.limit);
  const last = rows.at(-1);
  const more = sorted.length > offset + p.limit && last !== undefined;
  return { rows, next: more ? { phase: last.phase, key: last.k, id: last.row.rec.requestId } : null };
}

const iso = (ms: number) => new Date(ms).toISOString();

function baseItem(rec: MemoryRequestRow['rec']): RequestItem {
  return {
    request_id: rec.requestId,
    endpoint_id: rec.endpointId,
    started_at: iso(rec.startedAt ?? rec.sentAt),
    sent_at: iso(rec.sentAt),
    ended_at: rec.endedAt === null ? null : iso(rec.endedAt),
    status_code: rec.statusCode,
    duration: rec.endedAt === null ? null : (rec.endedAt - rec.sentAt) / 1000,
    runner_id: rec.runnerId,
  };
}

/** Stored payload text as it is when it parses (it always does: the store wrote it), else null. */
function payloadJson(text: string | null): string {
  if (text === null) return 'null';
  try {
    JSON.parse(text);
    return text;
  } catch {
    return 'null';
  }
}

function appendItem(page: RequestsPage, row: MemoryRequestRow, p: ListRequestsParams): void {
  const rec = row.rec;
  page.json += JSON.stringify(baseItem(rec)).slice(0, -1);
  if (p.payloads) {
    for (const [which, bit, text] of [
      ['input', PayloadPart.jsonInput, row.jsonInput],
      ['output', PayloadPart.jsonOutput, row.jsonOutput],
    ] as const) {
      page.json += `,"json_${which}":`;
      if (row.parts & bit)
        page.objects.push({ at: page.json.length, owner: rec.owner, requestId: rec.requestId, which });
      else page.json += payloadJson(text);
    }
  }
  if (p.billing) page.json += `,"billable_units":${JSON.stringify(rec.billableUnits)}`;
  page.json += '}';
}

/** One requests page, serialised as the SQLite reads serialise it (stored payload text spliced in). */
export function requestsPage(t: MemoryReadTables, p: ListRequestsParams): RequestsPage {
  const { rows, next } = pageRows(t, p);
  const page: RequestsPage = { json: '{"items":[', objects: [], next };
  rows.forEach((r, i) => {
    if (i > 0) page.json += ',';
    appendItem(page, r.row, p);
  });
  page.json += ']}';
  return page;
}
