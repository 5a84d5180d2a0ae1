import type { WebhookDelivery, WebhookOutbox } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** A webhook outbox under test and how to release it. */
export interface WebhookOutboxHarness {
  outbox: WebhookOutbox;
  /** Closes the outbox and what it lives in. */
  close(): Promise<void>;
  /** Opens the same backing data again (the suite closes this harness first). */
  reopen?: () => Promise<WebhookOutboxHarness>;
}

const LEASE = 60_000;

const delivery = (id: string, createdAt = 1_000): WebhookDelivery => ({
  id,
  owner: 'acme',
  app: 'echo',
  userId: 'alice',
  url: `https://hooks.example/${id}`,
  createdAt,
});

/** The behaviour every `WebhookOutbox` adapter must show; a new backend is done when this passes unchanged. */
export function describeWebhookOutboxContract(name: string, open: () => Promise<WebhookOutboxHarness>): void {
  describe(`WebhookOutbox contract: ${name}`, () => {
    let h: WebhookOutboxHarness;
    let o: WebhookOutbox;
    beforeEach(async () => {
      h = await open();
      o = h.outbox;
    });
    afterEach(async () => {
      await h.close();
    });

    it('records a waiting delivery once, which is never claimed before its request completes', async () => {
      await o.enqueue(delivery('r1'));
      await o.enqueue({ ...delivery('r1'), url: 'https://other.example/' });
      expect(await o.get('r1')).toEqual({
        ...delivery('r1'),
        state: 'waiting',
        attempts: 0,
        dueAt: null,
        lastStatus: null,
        lastError: null,
        finishedAt: null,
      });
      expect(await o.claim(10_000_000, 10, LEASE)).toEqual([]);
      expect(await o.get('nope')).toBeNull();
    });

    it('arms a delivery with its exact body, due at the given time', async () => {
      const body = Buffer.from([0, 1, 2, 255, 10]);
      await o.enqueue(delivery('r1'));
      await o.ready(delivery('r1'), body, 5_000);
      expect(await o.claim(4_999, 10, LEASE)).toEqual([]);
      const [c] = await o.claim(5_000, 10, LEASE);
      expect(c).toEqual({ ...delivery('r1'), body, attempt: 1 });
      expect((await o.get('r1'))?.state).toBe('pending');
    });

    it('arms a delivery never recorded (accepted before the outbox existed), and never re-arms one', async () => {
      await o.ready(delivery('old'), Buffer.from('a'), 0);
      const [c] = await o.claim(0, 10, LEASE);
      expect(c?.body.toString()).toBe('a');
      await o.ready(delivery('old'), Buffer.from('b'), 0);
      expect((await o.get('old'))?.attempts).toBe(1);
      expect(await o.claim(0, 10, LEASE)).toEqual([]);
    });

    it('leases a claim: nobody else gets it until the lease ends, then the next attempt does', async () => {
      await o.ready(delivery('r1'), Buffer.from('x'), 0);
      expect((await o.claim(100, 10, LEASE)).map((c) => c.attempt)).toEqual([1]);
      expect(await o.claim(100 + LEASE - 1, 10, LEASE)).toEqual([]);
      expect((await o.claim(100 + LEASE, 10, LEASE)).map((c) => c.attempt)).toEqual([2]);
      expect(await o.delivered('r1', 1, 200, 200)).toBe(false);
      expect(await o.retry('r1', 1, 200, { status: 500, error: null }, 0)).toBe(false);
      expect(await o.delivered('r1', 2, 300, 204)).toBe(true);
      expect(await o.get('r1')).toMatchObject({
        state: 'delivered',
        attempts: 2,
        lastStatus: 204,
        finishedAt: 300,
      });
      expect(await o.claim(10_000_000, 10, LEASE)).toEqual([]);
      expect(await o.giveUp('r1', 2, 400, { status: null, error: 'late' })).toBe(false);
    });

    it('schedules a retry and gives up for good', async () => {
      await o.ready(delivery('r1'), Buffer.from('x'), 0);
      await o.claim(0, 10, LEASE);
      expect(await o.retry('r1', 1, 10, { status: 503, error: 'HTTP 503' }, 7_010)).toBe(true);
      expect(await o.get('r1')).toMatchObject({
        state: 'pending',
        dueAt: 7_010,
        lastStatus: 503,
        lastError: 'HTTP 503',
      });
      expect(await o.claim(7_009, 10, LEASE)).toEqual([]);
      expect((await o.claim(7_010, 10, LEASE))[0]?.attempt).toBe(2);
      expect(await o.giveUp('r1', 2, 8_000, { status: null, error: 'connection refused' })).toBe(true);
      expect(await o.get('r1')).toMatchObject({
        state: 'failed',
        attempts: 2,
        dueAt: null,
        lastStatus: null,
        lastError: 'connection refused',
        finishedAt: 8_000,
      });
      expect(await o.claim(10_000_000, 10, LEASE)).toEqual([]);
    });

    it('claims the earliest due, up to the limit, and concurrent claims never share a delivery', async () => {
      for (let i = 0; i < 20; i++)
        await o.ready(delivery(`r${String(i).padStart(2, '0')}`), Buffer.from('x'), 100 - i);
      const first = await o.claim(1_000, 3, LEASE);
      // Which are claimed is the contract, not the order of the answer.
      expect(first.map((c) => c.id).sort()).toEqual(['r17', 'r18', 'r19']);
      const batches = await Promise.all([
        o.claim(1_000, 5, LEASE),
        o.claim(1_000, 5, LEASE),
        o.claim(1_000, 5, LEASE),
      ]);
      const ids = batches.flat().map((c) => c.id);
      expect(ids).toHaveLength(15);
      expect(new Set(ids).size).toBe(15);
      expect(ids).not.toContain('r19');
      expect(await o.claim(1_000, 5, LEASE)).toHaveLength(2);
    });

    it('lists waiting deliveries by id after a cursor, and drops only waiting ones', async () => {
      await o.enqueue(delivery('a', 10));
      await o.enqueue(delivery('b', 20));
      await o.enqueue(delivery('c', 30));
      await o.enqueue(delivery('d', 40));
      await o.ready(delivery('b', 20), Buffer.from('x'), 0);
      expect((await o.listWaiting(35, null, 10)).map((d) => d.id)).toEqual(['a', 'c']);
      expect(await o.listWaiting(35, null, 1)).toEqual([delivery('a', 10)]);
      expect((await o.listWaiting(100, 'a', 10)).map((d) => d.id)).toEqual(['c', 'd']);
      expect(await o.drop('c', 50, 'request was never recorded')).toBe(true);
      expect(await o.drop('b', 50, 'no')).toBe(false);
      expect(await o.get('c')).toMatchObject({
        state: 'failed',
        lastError: 'request was never recorded',
        finishedAt: 50,
      });
      expect((await o.listWaiting(100, null, 10)).map((d) => d.id)).toEqual(['a', 'd']);
    });

    it('purges final deliveries finished before a time, keeping the others', async () => {
      for (const id of ['a', 'b', 'c']) await o.ready(delivery(id), Buffer.from('x'), 0);
      await o.enqueue(delivery('w'));
      const claims = await o.claim(0, 10, LEASE);
      expect(claims).toHaveLength(3);
      await o.delivered('a', 1, 100, 200);
      await o.giveUp('b', 1, 200, { status: 410, error: null });
      expect(await o.purge(150)).toBe(1);
      expect(await o.get('a')).toBeNull();
      expect(await o.purge(1_000)).toBe(1);
      expect((await o.get('c'))?.state).toBe('pending');
      expect((await o.get('w'))?.state).toBe('waiting');
    });

    it('keeps deliveries, their attempts and bodies across a reopen', async (ctx) => {
      if (!h.reopen) ctx.skip();
      await o.enqueue(delivery('w'));
      await o.ready(delivery('p'), Buffer.from('payload'), 0);
      await o.claim(0, 10, LEASE);
      await o.retry('p', 1, 5, { status: 500, error: 'HTTP 500' }, 10);
      await h.close();
      h = await h.reopen!();
      o = h.outbox;
      expect((await o.get('w'))?.state).toBe('waiting');
      const [c] = await o.claim(10, 10, LEASE);
      expect(c).toEqual({ ...delivery('p'), body: Buffer.from('payload'), attempt: 2 });
    });
  });
}
