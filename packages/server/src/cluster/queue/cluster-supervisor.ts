import {
  type AppLiveStats,
  type DispatchRequest,
  type DispatchResult,
  PlatformError,
  type QueuedWork,
} from '@hangar/core';
import { errorResult, startTimeoutResult } from '../../runners/dispatch/results.js';
import type { Supervisor } from '../../runners/supervisor.js';
import { Executor, summaryOf } from './executor.js';
import type { ClusterQueueDeps, ClusterQueueStores } from './queue-deps.js';
import { fromWire, type QueueMessage, specOf, toWire, workOf } from './queue-spec.js';
import { reconcileWaiters } from './reconcile.js';

/** A request this node accepted that waits in (or runs from) the cluster queue. */
export interface Waiter {
  req: DispatchRequest;
  mode: 'queue' | 'sync';
  since: number;
  started: boolean;
  /** The cluster queue holds it (enqueue may be retried through a Redis outage). */
  queued: boolean;
  /** Settles once the queue holds it (or this node closes). */
  enqueued: Promise<void>;
  /** When the queue was first seen without it while its outcome was not known here, or null. */
  missingSince: number | null;
  /** Its queue entry, to put back should Redis lose it. */
  work: QueuedWork;
  deadline: NodeJS.Timeout | null;
  resolve(result: DispatchResult): void;
  reject(err: Error): void;
}

/** The runner supervisor of a cluster node: queued requests go through the cluster queue. */
export interface ClusterSupervisor extends Supervisor {
  /** Begins claiming and reporting once the gateway's request store exists. */
  start(stores: ClusterQueueStores): Promise<void>;
  /** Claims for free runners now (tests and wake-ups). */
  pump(): Promise<void>;
}

/**
 * Wraps this node's supervisor: queued requests (and sync calls finding no free runner here) are put in
 * the cluster queue, where any node with a free runner of the app claims them; the accepting node's
 * waiter resolves when the executing node announces the outcome. Everything else is the local supervisor's.
 */
export function createClusterSupervisor(deps: ClusterQueueDeps): ClusterSupervisor {
  const { local, queue, signals, node, clock, logger } = deps;
  const waiters = new Map<string, Waiter>();
  const lengths = new Map<string, number>();
  /** Requests accepted here and not started yet, per app. */
  const waiting = new Map<string, number>();
  let executor: Executor | null = null;
  let stores: ClusterQueueStores | null = null;
  let closing = false;
  const timers: NodeJS.Timeout[] = [];
  let unlisten: (() => void) | null = null;

  function announce(to: string, msg: QueueMessage): void {
    if (to === node) {
      setImmediate(() => onMessage(msg));
      return;
    }
    signals
      .send(to, JSON.stringify(msg))
      .catch((err: unknown) => logger.warn({ err }, 'queue signal not sent'));
  }

  function onMessage(msg: QueueMessage): void {
    if (msg.t === 'wake') void pump();
    else if (msg.t === 'cancel') void cancelHere(msg.id);
    else if (msg.t === 'start') {
      const w = waiters.get(msg.id);
      if (!w) return;
      markStarted(w);
      w.req.onStart?.(msg.info);
    } else {
      const w = waiters.get(msg.id);
      if (w) settle(w, { ...fromWire(msg.result), recorded: msg.recorded });
    }
  }

  /** Keeps the local pool scaling for requests accepted here that wait for a runner anywhere. */
  function countWaiting(owner: string, app: string, delta: number): void {
    const key = `${owner}/${app}`;
    const n = (waiting.get(key) ?? 0) + delta;
    if (n > 0) waiting.set(key, n);
    else waiting.delete(key);
    local.setClusterQueued(owner, app, Math.max(0, n));
  }

  function markStarted(w: Waiter): void {
    if (w.started) return;
    w.started = true;
    if (w.deadline) clearTimeout(w.deadline);
    countWaiting(w.req.owner, w.req.app, -1);
  }

  function settle(w: Waiter, result: DispatchResult): void {
    if (waiters.get(w.req.requestId) !== w) return;
    waiters.delete(w.req.requestId);
    markStarted(w);
    w.resolve(result);
  }

  function dispatch(req: DispatchRequest): Promise<DispatchResult> {
    if (closing) return Promise.reject(new PlatformError('SERVER_SHUTTING_DOWN'));
    const sync = req.stream !== undefined || req.hold !== undefined;
    // A sync call runs here when a runner is free (streaming kept); a held connection always does.
    if (sync && (req.hold !== undefined || local.freeSlots(req.owner, req.app) > 0))
      return local.dispatch(req);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        req,
        mode: sync ? 'sync' : 'queue',
        since: clock(),
        started: false,
        queued: false,
        enqueued: Promise.resolve(),
        missingSince: null,
        work: workOf(req, node, sync ? 'sync' : 'queue'),
        deadline: null,
        resolve,
        reject,
      };
      waiters.set(req.requestId, w);
      countWaiting(req.owner, req.app, 1);
      armDeadline(w);
      w.enqueued = enqueue(w.work).then(() => {
        w.queued = true;
      });
    });
  }

  /** Puts the request in the cluster queue, trying again while Redis is down (it is accepted already). */
  async function enqueue(work: QueuedWork): Promise<void> {
    for (let wait = 200; !closing; wait = Math.min(wait * 2, 5000)) {
      try {
        await queue.enqueue(work);
        announce('*', { t: 'wake', owner: work.owner, app: work.app });
        return;
      } catch (err) {
        logger.warn(
          { err, requestId: work.requestId },
          'cluster queue unreachable; request kept, queueing again',
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** fal's start deadline: a request still queued then leaves the queue with a 504 (user timeout). */
  function armDeadline(w: Waiter): void {
    const at = w.req.startDeadline;
    if (at === null) return;
    w.deadline = setTimeout(
      () => {
        queue
          .remove(w.req.requestId)
          .then((removed) => {
            if (removed) settle(w, startTimeoutResult(summaryOf(0), clock()));
          })
          .catch((err: unknown) => logger.warn({ err }, 'start deadline not applied; the claimer checks it'));
      },
      Math.max(0, at - clock()),
    );
    w.deadline.unref();
  }

  /** A request taken out of the queue by a cancel or a flush: it ends cancelled, recorded once. */
  async function removed(work: QueuedWork): Promise<void> {
    const result = errorResult(summaryOf(work.attempts), 'REQUEST_CANCELLED', clock(), null, null);
    result.cancelled = true;
    await ended(work, result);
  }

  /** A request taken out of the queue ends with `result`: its waiter here resolves, else it is recorded here. */
  async function ended(work: QueuedWork, result: DispatchResult): Promise<void> {
    const w = waiters.get(work.requestId);
    if (w) {
      settle(w, result);
      return;
    }
    const recorded =
      specOf(work).mode === 'queue' &&
      stores !== null &&
      (executor?.record(await stores.requests.get(work.requestId), result) ?? false);
    announce(work.acceptedBy, {
      t: 'done',
      id: work.requestId,
      result: toWire(result),
      recorded,
    });
  }

  /** Cancels a request claimed by this node: still waiting for a runner here, or running. */
  async function cancelHere(id: string): Promise<boolean> {
    if (await local.cancelQueued(id)) return true;
    return local.cancelRunning(id);
  }

  async function pump(): Promise<void> {
    if (!executor || closing) return;
    try {
      await executor.pump();
    } catch (err) {
      logger.warn({ err }, 'claiming from the cluster queue failed; trying again');
    }
  }

  /** The apps this node has a pool for: the ones it claims work of. */
  function refreshApps(): Array<{ owner: string; app: string }> {
    const apps = local.stats().map((s) => ({ owner: s.owner, app: s.app }));
    if (executor) executor.apps = apps;
    return apps;
  }

  async function refreshLengths(): Promise<void> {
    for (const { owner, app } of refreshApps())
      lengths.set(`${owner}/${app}`, await queue.length(owner, app));
  }

  function every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || closing) return;
      busy = true;
      fn()
        .catch((err: unknown) => logger.warn({ err }, 'cluster queue housekeeping failed'))
        .finally(() => {
          busy = false;
        });
    }, ms);
    t.unref();
    timers.push(t);
  }

  async function close(deadlineMs: number): Promise<void> {
    closing = true;
    for (const t of timers) clearInterval(t);
    if (executor) executor.stopped = true;
    // Requests accepted here stay queued: another node runs and records them.
    for (const w of [...waiters.values()]) {
      waiters.delete(w.req.requestId);
      if (w.deadline) clearTimeout(w.deadline);
      w.reject(new PlatformError('SERVER_SHUTTING_DOWN'));
    }
    const renewing = setInterval(() => void executor?.renewAll().catch(() => {}), (deps.leaseMs ?? 5000) / 3);
    await local.close(deadlineMs);
    await executor?.settled();
    clearInterval(renewing);
    unlisten?.();
    await signals.close();
    await queue.close();
  }

  return {
    ...local,
    dispatch,
    async cancelQueued(id) {
      const work = await queue.remove(id);
      if (work) await removed(work);
      return work !== null || local.cancelQueued(id);
    },
    async cancelRunning(id) {
      const st = await queue.state(id);
      if (st.state !== 'claimed') return local.cancelRunning(id);
      if (st.node === node) return cancelHere(id);
      announce(st.node, { t: 'cancel', id });
      return true;
    },
    async flushQueue(owner, app) {
      const works = await queue.flush(owner, app);
      for (const work of works) await removed(work);
      return [...works.map((w) => w.requestId), ...(await local.flushQueue(owner, app))];
    },
    async remove(owner, app) {
      // The app is gone: what waits for it anywhere in the cluster ends as it does in one node (404).
      const works = await queue.flush(owner, app).catch((err: unknown) => {
        logger.warn({ err }, 'queued requests of a removed app left in the cluster queue');
        return [];
      });
      for (const work of works) {
        await ended(work, errorResult(summaryOf(work.attempts), 'APP_DELETED', clock(), null, null));
      }
      await local.remove(owner, app);
    },
    async queuePosition(id) {
      // A request accepted here a moment ago is answered once the queue holds it, so its position counts.
      const w = waiters.get(id);
      if (w && !w.queued) await Promise.race([w.enqueued, new Promise((r) => setTimeout(r, 2000).unref())]);
      return queue.position(id);
    },
    async deploy(app, rev) {
      await local.deploy(app, rev);
      refreshApps();
    },
    stats(owner?: string): AppLiveStats[] {
      return local
        .stats(owner)
        .map((s) => ({ ...s, queueSize: s.queueSize + (lengths.get(`${s.owner}/${s.app}`) ?? 0) }));
    },
    async start(given) {
      stores = given;
      executor = new Executor(deps, given, announce);
      unlisten = await signals.listen(node, (raw) => onMessage(JSON.parse(raw) as QueueMessage));
      every(deps.pollMs ?? 250, async () => {
        await refreshLengths();
        await pump();
      });
      every((deps.leaseMs ?? 5000) / 3, () => executor!.renewAll());
      every(deps.reclaimMs ?? 1000, () => executor!.reclaim());
      every(2000, () => reconcileWaiters(waiters, queue, given, clock, settle));
    },
    pump,
    close(deadlineMs) {
      return close(deadlineMs);
    },
  };
}
