import type { Clock, DispatchResult, RequestRecord, StoredResult, WorkQueue } from '@hangar/core';
import { errorResult } from '../../runners/dispatch/results.js';
import type { Waiter } from './cluster-supervisor.js';
import { summaryOf } from './executor.js';
import type { ClusterQueueStores } from './queue-deps.js';

/** A waiter is looked at once it waited this long without news. */
const QUIET_MS = 2000;

/**
 * Signals are delivered at most once: a waiter whose request left the queue without its outcome reaching
 * this node (a lost message, a node restart) is resolved from the request store, where the executing node
 * recorded it. A relayed sync call has no record: its caller gets a connection error.
 */
export async function reconcileWaiters(
  waiters: Map<string, Waiter>,
  queue: WorkQueue,
  stores: ClusterQueueStores,
  clock: Clock,
  settle: (w: Waiter, result: DispatchResult) => void,
): Promise<void> {
  const now = clock();
  for (const w of [...waiters.values()]) {
    if (!w.queued || now - w.since < QUIET_MS) continue;
    const st = await queue.state(w.req.requestId);
    if (st.state !== 'unknown') continue;
    if (w.mode === 'sync') {
      settle(w, errorResult(summaryOf(0), 'RUNNER_CONNECTION_FAILED', now, 'connection', null));
      continue;
    }
    const rec = await stores.requests.get(w.req.requestId);
    if (rec?.status !== 'COMPLETED') continue;
    const stored = await stores.requests.getResult(w.req.requestId);
    settle(w, storedOutcome(rec, stored, now));
  }
}

/** A completion read back from the store, as the dispatch result it was recorded from. */
function storedOutcome(rec: RequestRecord, stored: StoredResult | null, now: number): DispatchResult {
  return {
    statusCode: stored?.statusCode ?? rec.statusCode ?? 500,
    headers: { 'content-type': stored?.contentType ?? 'application/json', ...(stored?.headers ?? {}) },
    body: stored?.body ?? Buffer.alloc(0),
    runnerId: rec.runnerId,
    startedAt: rec.startedAt,
    endedAt: rec.endedAt ?? now,
    coldStart: rec.coldStart,
    coldBootMs: rec.coldBootMs,
    billableUnits: rec.billableUnits,
    errorClass: rec.errorClass,
    attempts: rec.attempts,
    cancelled: rec.cancelled,
    recorded: true,
  };
}
