import type { Clock, DispatchResult, RequestRecord, StoredResult, WorkQueue } from '@hangar/core';
import { errorResult } from '../../runners/dispatch/results.js';
import type { Waiter } from './cluster-supervisor.js';
import { summaryOf } from './executor.js';
import type { ClusterQueueStores } from './queue-deps.js';

/** A waiter is looked at once it waited this long without news. */
const QUIET_MS = 2000;
/**
 * How long a request must stay out of the queue, unanswered, before this node acts: longer than an
 * executing node takes between completing its claim and recording the outcome, so a completion under
 * way is never mistaken for a loss.
 */
const MISSING_MS = 3000;

/**
 * Signals are delivered at most once: a waiter whose request left the queue without its outcome reaching
 * this node (a lost message) is resolved from the request store, where the executing node recorded it. A
 * queued request missing from the queue with no outcome recorded (Redis lost it) is queued again. A
 * relayed sync call has no record: its caller gets a connection error.
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
    if (st.state !== 'unknown') {
      w.missingSince = null;
      continue;
    }
    const rec = w.mode === 'queue' ? await stores.requests.get(w.req.requestId) : null;
    if (rec?.status === 'COMPLETED') {
      settle(w, storedOutcome(rec, await stores.requests.getResult(w.req.requestId), now));
      continue;
    }
    w.missingSince ??= now;
    if (now - w.missingSince < MISSING_MS || !waiters.has(w.req.requestId)) continue;
    if (w.mode === 'sync')
      settle(w, errorResult(summaryOf(0), 'RUNNER_CONNECTION_FAILED', now, 'connection', null));
    else {
      w.missingSince = null;
      await queue.enqueue(w.work);
    }
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
