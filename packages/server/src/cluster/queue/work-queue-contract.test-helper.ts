import type { QueuedWork, WorkQueue } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let seq = 0;

/** A queued request of `alice/<app>` accepted at `sentAt`. */
export function work(over: Partial<QueuedWork> & { sentAt: number }): QueuedWork {
  return {
    requestId: `r-${++seq}-${process.pid}`,
    owner: 'alice',
    app: 'app',
    priority: 'normal',
    startDeadline: null,
    attempts: 0,
    retriesBy: { server_error: 0, timeout: 0, connection_error: 0 },
    acceptedBy: 'node-a',
    spec: '{}',
    ...over,
  };
}

/** The behaviour every `WorkQueue` keeps; `open` gives a fresh, empty queue shared by `count` handles. */
export function describeWorkQueueContract(name: string, open: (count: number) => Promise<WorkQueue[]>): void {
  describe(`WorkQueue contract: ${name}`, () => {
    let queues: WorkQueue[] = [];
    let q: WorkQueue;
    beforeEach(async () => {
      queues = await open(2);
      q = queues[0]!;
    });
    afterEach(async () => {
      for (const each of queues) await each.close();
    });

    it('claims normal before low, each oldest first, and reports positions', async () => {
      const low = work({ sentAt: 1000, priority: 'low' });
      const late = work({ sentAt: 3000 });
      const early = work({ sentAt: 2000 });
      for (const w of [low, late, early]) await q.enqueue(w);
      expect(await q.position(early.requestId)).toBe(0);
      expect(await q.position(late.requestId)).toBe(1);
      expect(await q.position(low.requestId)).toBe(2);
      expect(await q.length('alice', 'app')).toBe(3);
      const order: string[] = [];
      for (let i = 0; i < 3; i++) order.push((await q.claim('alice', 'app', 'n1', 5000, 10))!.work.requestId);
      expect(order).toEqual([early.requestId, late.requestId, low.requestId]);
      expect(await q.claim('alice', 'app', 'n1', 5000, 10)).toBeNull();
      expect(await q.position(early.requestId)).toBeNull();
    });

    it('keeps apps apart and ignores a second enqueue of the same request', async () => {
      const a = work({ sentAt: 1 });
      await q.enqueue(a);
      await q.enqueue({ ...a, sentAt: 0 });
      await q.enqueue(work({ sentAt: 2, app: 'other' }));
      expect(await q.length('alice', 'app')).toBe(1);
      expect(await q.length('alice', 'other')).toBe(1);
      expect((await q.claim('alice', 'other', 'n1', 5000, 0))!.work.app).toBe('other');
    });

    it('gives a request to one claimer only, whoever asks at once', async () => {
      const all = Array.from({ length: 20 }, (_, i) => work({ sentAt: i }));
      for (const w of all) await q.enqueue(w);
      const claims = await Promise.all(
        Array.from({ length: 30 }, (_, i) => queues[i % 2]!.claim('alice', 'app', `n${i % 2}`, 5000, 0)),
      );
      const ids = claims.filter((c) => c !== null).map((c) => c!.work.requestId);
      expect(ids.length).toBe(20);
      expect(new Set(ids).size).toBe(20);
    });

    it('fences: a claim taken back after its lease cannot renew, complete or requeue', async () => {
      const w = work({ sentAt: 1 });
      await q.enqueue(w);
      const first = (await q.claim('alice', 'app', 'n1', 1000, 0))!;
      expect(await q.renew(w.requestId, first.token, 1000, 500)).toBe(true);
      expect(await queues[1]!.reclaimExpired('n2', 1000, 1200, 10)).toEqual([]);
      const back = await queues[1]!.reclaimExpired('n2', 1000, 1600, 10);
      expect(back.map((c) => c.work.requestId)).toEqual([w.requestId]);
      const second = back[0]!;
      expect(second.token).toBeGreaterThan(first.token);
      expect(second.node).toBe('n2');
      expect(await q.state(w.requestId)).toMatchObject({ state: 'claimed', node: 'n2', token: second.token });
      expect(await q.renew(w.requestId, first.token, 1000, 1700)).toBe(false);
      expect(await q.complete(w.requestId, first.token)).toBe(false);
      expect(await q.requeue(w.requestId, first.token, { attempts: 9, retriesBy: w.retriesBy })).toBe(false);
      expect(await queues[1]!.complete(w.requestId, second.token)).toBe(true);
      expect(await q.state(w.requestId)).toEqual({ state: 'unknown' });
      expect(await q.complete(w.requestId, second.token)).toBe(false);
    });

    it('requeues a retried request at its place with its attempt counts', async () => {
      const a = work({ sentAt: 1 });
      const b = work({ sentAt: 2 });
      await q.enqueue(a);
      await q.enqueue(b);
      const claim = (await q.claim('alice', 'app', 'n1', 1000, 0))!;
      const retriesBy = { server_error: 0, timeout: 0, connection_error: 1 };
      expect(await q.requeue(a.requestId, claim.token, { attempts: 1, retriesBy })).toBe(true);
      expect(await q.position(a.requestId)).toBe(0);
      expect(await q.reclaimExpired('n1', 1000, 99_999, 10)).toEqual([]);
      const again = (await q.claim('alice', 'app', 'n2', 1000, 0))!;
      expect(again.work).toMatchObject({ requestId: a.requestId, attempts: 1, retriesBy });
    });

    it('removes a queued request but not a claimed one, and flushes in order', async () => {
      const a = work({ sentAt: 1 });
      const b = work({ sentAt: 2 });
      const c = work({ sentAt: 3, priority: 'low' });
      const d = work({ sentAt: 4 });
      for (const w of [a, b, c, d]) await q.enqueue(w);
      await q.claim('alice', 'app', 'n1', 1000, 0);
      expect(await q.remove(a.requestId)).toBeNull();
      expect((await q.remove(b.requestId))?.requestId).toBe(b.requestId);
      expect(await q.remove(b.requestId)).toBeNull();
      expect(await q.state(b.requestId)).toEqual({ state: 'unknown' });
      expect(await q.position(c.requestId)).toBe(1);
      const flushed = await queues[1]!.flush('alice', 'app');
      expect(flushed.map((w) => w.requestId)).toEqual([d.requestId, c.requestId]);
      expect(await q.length('alice', 'app')).toBe(0);
      expect(await q.state(a.requestId)).toMatchObject({ state: 'claimed', node: 'n1' });
    });

    it('keeps the whole work description through a claim', async () => {
      const w = work({ sentAt: 5, startDeadline: 99, spec: '{"path":"/x"}', acceptedBy: 'node-b' });
      await q.enqueue(w);
      expect((await queues[1]!.claim('alice', 'app', 'n1', 1000, 0))!.work).toEqual(w);
    });
  });
}
