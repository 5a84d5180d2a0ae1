import type { DispatchResult, DispatchStart, RequestRecord, WorkClaim } from '@hangar/core';
import { completionPatch, responseOf, startPatch } from '../../gateway/recording.js';
import { type AttemptSummary, errorResult, startTimeoutResult } from '../../runners/dispatch/results.js';
import type { ClusterQueueDeps, ClusterQueueStores } from './queue-deps.js';
import { mayRetryLost, type QueueMessage, requestOf, specOf, toWire, type WorkSpec } from './queue-spec.js';

/** The executing side of the cluster queue on one node: claims work for free runners and reports back. */
export class Executor {
  /** Claims this node holds, by request id. */
  readonly held = new Map<string, WorkClaim>();
  /** Claimed requests per app not yet handed to a runner (their slot is spoken for). */
  private readonly starting = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private pumping = false;
  /** This node's apps (owner, name), refreshed by the housekeeping tick: a pump never builds pool stats. */
  apps: Array<{ owner: string; app: string }> = [];
  private again = false;
  stopped = false;

  constructor(
    private readonly deps: ClusterQueueDeps,
    private readonly stores: ClusterQueueStores,
    private readonly announce: (node: string, msg: QueueMessage) => void,
  ) {}

  private get leaseMs(): number {
    return this.deps.leaseMs ?? 5000;
  }

  /** Claims work for every app with a free runner here, until none is free or its queue is empty. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (const { owner, app } of this.apps) await this.claimFor(owner, app);
      } while (this.again && !this.stopped);
    } finally {
      this.pumping = false;
    }
  }

  private async claimFor(owner: string, app: string): Promise<void> {
    const { local, queue, node, clock } = this.deps;
    const key = `${owner}/${app}`;
    while (!this.stopped && local.freeSlots(owner, app) - (this.starting.get(key) ?? 0) > 0) {
      const claim = await queue.claim(owner, app, node, this.leaseMs, clock());
      if (!claim) return;
      this.track(this.run(claim));
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    p.finally(() => this.running.delete(p));
  }

  /** Runs one claimed request on a runner of this node and reports its outcome. */
  private async run(claim: WorkClaim): Promise<void> {
    const { work } = claim;
    const key = `${work.owner}/${work.app}`;
    this.held.set(work.requestId, claim);
    this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
    let handed = false;
    const hand = () => {
      if (handed) return;
      handed = true;
      this.starting.set(key, (this.starting.get(key) ?? 1) - 1);
    };
    const spec = specOf(work);
    try {
      const result = await this.dispatch(claim, spec, hand);
      await this.finish(claim, spec, result);
    } catch (err) {
      // This node is shutting down (or could not read the input): another node takes the request.
      hand();
      this.held.delete(work.requestId);
      this.deps.logger.warn(
        { err, requestId: work.requestId },
        'claimed request handed back to the cluster queue',
      );
      await this.deps.queue.requeue(work.requestId, claim.token, work).catch(() => {});
      return;
    }
    // The runner is free again: take the next request at once rather than at the next poll.
    if (!this.stopped) this.pump().catch(() => {});
  }

  private async dispatch(claim: WorkClaim, spec: WorkSpec, hand: () => void): Promise<DispatchResult> {
    const { work } = claim;
    const now = this.deps.clock();
    const summary = summaryOf(work.attempts);
    if (work.startDeadline !== null && now >= work.startDeadline) {
      hand();
      return startTimeoutResult(summary, now);
    }
    const body =
      spec.body !== undefined
        ? Buffer.from(spec.body, 'base64')
        : await this.stores.requests.getInput(work.requestId);
    if (body === null || work.attempts >= this.deps.maxAttempts) {
      hand();
      const message = body === null ? 'The request input was lost' : undefined;
      const code = body === null ? 'SERVER_INTERNAL' : 'RUNNER_CONNECTION_FAILED';
      return errorResult(summary, code, now, body === null ? null : 'connection', null, message);
    }
    const onStart = (info: DispatchStart) => this.started(claim, spec, info);
    const pending = this.deps.local.dispatch(requestOf(work, spec, body, onStart));
    hand();
    const result = await pending;
    return { ...result, attempts: work.attempts + result.attempts };
  }

  /** An attempt started here: the record shows it on every node, and the accepting node is told. */
  private started(claim: WorkClaim, spec: WorkSpec, local: DispatchStart): void {
    const { work } = claim;
    const info = { ...local, attempt: work.attempts + local.attempt };
    // The accepting node records the start itself when it runs the request (possibly not at all, if short).
    if (spec.mode === 'queue' && work.acceptedBy !== this.deps.node) {
      this.stores.requests.update(work.requestId, startPatch(info, work.sentAt, 0));
    }
    this.announce(work.acceptedBy, { t: 'start', id: work.requestId, info });
  }

  /**
   * Reports an outcome. A queued request's completion is committed to the request store first, while this
   * node keeps renewing its lease, and only then is the claim completed in Redis: so a request that left
   * the queue has its outcome in the store (reconciliation never queues a finished request again), and a
   * node lost before its commit leaves a claim that lapses and is taken back like any lost attempt. A
   * node whose token no longer holds the claim records nothing.
   */
  async finish(claim: WorkClaim, spec: WorkSpec, result: DispatchResult): Promise<void> {
    const { work } = claim;
    const id = work.requestId;
    this.held.set(id, claim);
    try {
      let recorded = false;
      if (spec.mode === 'queue') {
        if (
          !(await this.retried(() => this.deps.queue.renew(id, claim.token, this.leaseMs, this.deps.clock())))
        ) {
          this.deps.logger.warn(
            { requestId: id, node: this.deps.node },
            'claim lost before completion; outcome dropped',
          );
          return;
        }
        const rec = await this.whileHeld(claim, () => this.stores.requests.get(id));
        recorded = rec !== null && this.record(rec, result);
        const commit = this.stores.committed;
        if (recorded && commit && !(await this.whileHeld(claim, commit).then(yes, no))) {
          this.deps.logger.warn(
            { requestId: id, node: this.deps.node },
            'completion not committed; claim left to lapse',
          );
          return;
        }
      }
      const completed = await this.retried(() => this.deps.queue.complete(id, claim.token));
      if (!completed) {
        this.deps.logger.warn({ requestId: id, node: this.deps.node }, 'claim lost before completion');
        if (!recorded) return;
      }
      this.announce(work.acceptedBy, { t: 'done', id, result: toWire(result), recorded });
    } finally {
      if (this.held.get(id) === claim) this.held.delete(id);
    }
  }

  /** Runs a queue command, trying again through a short Redis outage while the lease lasts. */
  private async retried(command: () => Promise<boolean>): Promise<boolean> {
    const until = this.deps.clock() + this.leaseMs;
    for (;;) {
      try {
        return await command();
      } catch (err) {
        if (this.deps.clock() >= until) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * Runs a store call until it answers, through an outage of the store, while the claim is still held
   * here (`renewAll` keeps it); rejects when the claim was taken back or this node stops first.
   */
  private async whileHeld<T>(claim: WorkClaim, call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (this.held.get(claim.work.requestId) !== claim || this.stopped) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Records a queued request's completion in the request store (false when the request is unknown). */
  record(rec: RequestRecord | null, result: DispatchResult): boolean {
    if (!rec) return false;
    const { requests, jsonCap, resultTtlMs } = this.stores;
    const response = responseOf(result);
    const patch = completionPatch(rec, result, response, jsonCap, 0);
    requests.complete(rec.requestId, patch, response, this.deps.clock() + resultTtlMs);
    this.stores.onRecorded?.(rec, response);
    return true;
  }

  /** Extends every claim held here; one taken back meanwhile is stopped here (it runs elsewhere now). */
  async renewAll(): Promise<void> {
    const { queue, clock, local } = this.deps;
    for (const [id, claim] of [...this.held]) {
      const ok = await queue.renew(id, claim.token, this.leaseMs, clock()).catch(() => true);
      if (ok || this.held.get(id) !== claim) continue;
      this.held.delete(id);
      if (!(await local.cancelQueued(id))) await local.cancelRunning(id);
    }
  }

  /** Takes back claims of lost nodes: each runs again under fal's retry rules, or ends as a connection error. */
  async reclaim(): Promise<void> {
    const { queue, node, clock, maxAttempts } = this.deps;
    const claims = await queue.reclaimExpired(node, this.leaseMs, clock(), 50);
    for (const claim of claims) {
      if (await this.endedAlready(claim)) continue;
      const lost = { ...claim.work, attempts: claim.work.attempts + 1 };
      const spec = specOf(lost);
      const manifest = await this.stores.manifestOf(lost.owner, lost.app);
      if (mayRetryLost(lost, spec, manifest, maxAttempts)) {
        const retriesBy = { ...lost.retriesBy, connection_error: lost.retriesBy.connection_error + 1 };
        await queue.requeue(lost.requestId, claim.token, { attempts: lost.attempts, retriesBy });
        this.announce('*', { t: 'wake', owner: lost.owner, app: lost.app });
        continue;
      }
      const result = errorResult(
        summaryOf(lost.attempts),
        'RUNNER_CONNECTION_FAILED',
        clock(),
        'connection',
        null,
      );
      await this.finish({ ...claim, work: lost }, spec, result);
    }
  }

  /**
   * A taken-back claim of a queued request whose completion is already committed (its node was lost
   * between that commit and completing the claim) is completed, not run again. When the store cannot
   * tell, the claim is left to lapse and is looked at again.
   */
  private async endedAlready(claim: WorkClaim): Promise<boolean> {
    const id = claim.work.requestId;
    if (specOf(claim.work).mode !== 'queue') return false;
    const rec = await this.stores.requests.get(id).catch(() => undefined);
    if (rec !== undefined && rec?.status !== 'COMPLETED') return false;
    if (rec) await this.deps.queue.complete(id, claim.token).catch(() => false);
    return true;
  }

  /** Resolves once every claimed request handed to this node's runners has been reported. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

const yes = () => true;
const no = () => false;

/**
 * What a platform-generated result of claimed work reports: no attempt started on this node (the
 * results read only these fields, never the request).
 */
export function summaryOf(attempts: number): AttemptSummary {
  return { startedAt: null, coldStart: false, coldBootMs: null, attempts } as AttemptSummary;
}
