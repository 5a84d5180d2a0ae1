import type { QueuedWork, WorkClaim, WorkQueue, WorkState } from '@hangar/core';

interface Held {
  work: QueuedWork;
  /** Insertion order, breaking ties of equal `sentAt`. */
  seq: number;
  claim: WorkClaim | null;
}

/** Orders by priority band, then acceptance time, then insertion. */
function before(a: Held, b: Held): boolean {
  const ba = a.work.priority === 'low' ? 1 : 0;
  const bb = b.work.priority === 'low' ? 1 : 0;
  if (ba !== bb) return ba < bb;
  if (a.work.sentAt !== b.work.sentAt) return a.work.sentAt < b.work.sentAt;
  return a.seq < b.seq;
}

/**
 * The queue in process memory: the embedded semantics (one node), and a shared queue for several
 * dispatchers in one process. Leases are checked against the `now` callers pass.
 */
export class MemoryWorkQueue implements WorkQueue {
  private readonly byId = new Map<string, Held>();
  private readonly queues = new Map<string, Held[]>();
  private seq = 0;
  private token = 0;

  private queueOf(owner: string, app: string): Held[] {
    const key = `${owner}/${app}`;
    let q = this.queues.get(key);
    if (!q) {
      q = [];
      this.queues.set(key, q);
    }
    return q;
  }

  private insert(held: Held): void {
    const q = this.queueOf(held.work.owner, held.work.app);
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(q[mid]!, held)) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, held);
  }

  private unqueue(held: Held): void {
    const q = this.queueOf(held.work.owner, held.work.app);
    const i = q.indexOf(held);
    if (i !== -1) q.splice(i, 1);
  }

  private grant(held: Held, node: string, leaseMs: number, now: number): WorkClaim {
    held.claim = { work: { ...held.work }, token: ++this.token, node, leaseUntil: now + leaseMs };
    return held.claim;
  }

  private holding(requestId: string, token: number): Held | null {
    const held = this.byId.get(requestId);
    return held?.claim?.token === token ? held : null;
  }

  async enqueue(work: QueuedWork): Promise<void> {
    if (this.byId.has(work.requestId)) return;
    const held: Held = { work: { ...work }, seq: ++this.seq, claim: null };
    this.byId.set(work.requestId, held);
    this.insert(held);
  }

  async claim(
    owner: string,
    app: string,
    node: string,
    leaseMs: number,
    now: number,
  ): Promise<WorkClaim | null> {
    const held = this.queueOf(owner, app).shift();
    return held ? this.grant(held, node, leaseMs, now) : null;
  }

  async renew(requestId: string, token: number, leaseMs: number, now: number): Promise<boolean> {
    const held = this.holding(requestId, token);
    if (!held) return false;
    held.claim!.leaseUntil = now + leaseMs;
    return true;
  }

  async complete(requestId: string, token: number): Promise<boolean> {
    if (!this.holding(requestId, token)) return false;
    this.byId.delete(requestId);
    return true;
  }

  async requeue(
    requestId: string,
    token: number,
    update: Pick<QueuedWork, 'attempts' | 'retriesBy'>,
  ): Promise<boolean> {
    const held = this.holding(requestId, token);
    if (!held) return false;
    held.claim = null;
    held.work = { ...held.work, attempts: update.attempts, retriesBy: { ...update.retriesBy } };
    this.insert(held);
    return true;
  }

  async position(requestId: string): Promise<number | null> {
    const held = this.byId.get(requestId);
    if (!held || held.claim) return null;
    return this.queueOf(held.work.owner, held.work.app).indexOf(held);
  }

  async state(requestId: string): Promise<WorkState> {
    const held = this.byId.get(requestId);
    if (!held) return { state: 'unknown' };
    const c = held.claim;
    return c
      ? { state: 'claimed', node: c.node, token: c.token, leaseUntil: c.leaseUntil }
      : { state: 'queued' };
  }

  async remove(requestId: string): Promise<QueuedWork | null> {
    const held = this.byId.get(requestId);
    if (!held || held.claim) return null;
    this.unqueue(held);
    this.byId.delete(requestId);
    return { ...held.work };
  }

  async flush(owner: string, app: string): Promise<QueuedWork[]> {
    const q = this.queueOf(owner, app);
    const out = q.splice(0, q.length);
    for (const held of out) this.byId.delete(held.work.requestId);
    return out.map((h) => ({ ...h.work }));
  }

  async length(owner: string, app: string): Promise<number> {
    return this.queueOf(owner, app).length;
  }

  async reclaimExpired(node: string, leaseMs: number, now: number, limit: number): Promise<WorkClaim[]> {
    const out: WorkClaim[] = [];
    for (const held of this.byId.values()) {
      if (out.length >= limit) break;
      if (held.claim && held.claim.leaseUntil < now) out.push(this.grant(held, node, leaseMs, now));
    }
    return out;
  }

  async close(): Promise<void> {}
}
