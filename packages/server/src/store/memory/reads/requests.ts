import type { ListRequestsParams, RequestPosition, RequestsPage } from '@hangar/core';
import {
  keepRequest,
  type PhaseAsk,
  type RequestRow,
  type RowsPage,
  requestPageSteps,
  requestsJson,
  statusMatches,
} from '../../reads-shared/request-items.js';
import { runSteps } from '../../reads-shared/steps.js';
import type { MemoryRequestRow } from '../requests.js';
import { FirstK } from './first-k.js';
import { compareIds, endpointMatcher, type MemoryReadTables } from './tables.js';

// The requests page over the memory request rows with the shared page rules (reads-shared/request-items.ts):
// the memory engine answers each phase's ask with one scan, keeping only the best `want` rows of all the
// selected endpoints (the rows the steps keep of the per-endpoint lists the SQL returns).

type Rec = MemoryRequestRow['rec'];

/** The phase a row lists in within the window, or null when it is outside it. */
function phaseOf(rec: Rec, p: ListRequestsParams): 'd' | 'o' | null {
  if (rec.endedAt !== null) return rec.endedAt >= p.startMs && rec.endedAt < p.endMs ? 'd' : null;
  if (rec.status === 'COMPLETED') return null;
  return rec.sentAt >= p.startMs && rec.sentAt < p.endMs ? 'o' : null;
}

/** Completed rows sort by end (or duration, none as -1), in-flight ones by when they were sent. */
function keyOf(rec: Rec, phase: 'd' | 'o', p: ListRequestsParams): number {
  if (phase === 'o') return rec.sentAt;
  return p.sortBy === 'duration' ? (rec.durationMs ?? -1) : (rec.endedAt as number);
}

/** Whether a row of the cursor's phase comes strictly after it (descending key, then ascending id). */
function afterCursor(k: number, id: string, at: RequestPosition | null): boolean {
  return at === null || k < at.key || (k === at.key && id > at.id);
}

/** A stored request as the page rules read a row. */
function toRow({ rec, jsonInput, jsonOutput, parts }: MemoryRequestRow, k: number): RequestRow {
  return {
    request_id: rec.requestId,
    endpoint_id: rec.endpointId,
    sent_at: rec.sentAt,
    started_at: rec.startedAt,
    ended_at: rec.endedAt,
    status_code: rec.statusCode,
    runner_id: rec.runnerId,
    billable_units: rec.billableUnits,
    json_input: jsonInput,
    json_output: jsonOutput,
    owner: rec.owner,
    payload_objects: parts,
    k,
  };
}

const byKey = (a: RequestRow, b: RequestRow) => b.k - a.k || compareIds(a.request_id, b.request_id);

/** The best `want` rows of one phase among the selected endpoints, after the cursor when it is in this phase. */
function readPhase(t: MemoryReadTables, p: ListRequestsParams, { phase, want }: PhaseAsk): RequestRow[] {
  const covers = endpointMatcher(p.endpoints);
  const after = p.after?.phase === phase ? p.after : null;
  // In-flight requests have no status code: the steps ask for them only without a status filter.
  const found = new FirstK<RequestRow>(want, byKey);
  for (const row of t.requests.readRows()) {
    const rec = row.rec;
    if (!covers(rec.endpointId) || phaseOf(rec, p) !== phase || !statusMatches(rec.statusCode, p.status))
      continue;
    const k = keyOf(rec, phase, p);
    if (afterCursor(k, rec.requestId, after)) found.offer(toRow(row, k));
  }
  return found.sorted();
}

/** The row `p.requestId` names, when it belongs on the page. */
function byRequestId(t: MemoryReadTables, p: ListRequestsParams): RequestRow[] {
  const covers = endpointMatcher(p.endpoints);
  for (const row of t.requests.readRows()) {
    if (row.rec.requestId !== p.requestId) continue;
    const r = toRow(row, 0);
    // The row is stored, so its endpoint is among the expanded ids exactly when a selector covers it.
    return covers(r.endpoint_id) && keepRequest(r, [r.endpoint_id], p) ? [r] : [];
  }
  return [];
}

function pageRows(t: MemoryReadTables, p: ListRequestsParams): RowsPage {
  if (p.requestId !== null) return { rows: byRequestId(t, p), next: null };
  return runSteps(requestPageSteps(p), (ask) => readPhase(t, p, ask));
}

/** One requests page, serialised as every engine serialises it (stored payload text spliced in). */
export function requestsPage(t: MemoryReadTables, p: ListRequestsParams): RequestsPage {
  return requestsJson(pageRows(t, p), p);
}
