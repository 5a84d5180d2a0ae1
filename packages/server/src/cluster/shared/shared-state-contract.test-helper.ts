// One contract suite per shared-state port, run on the in-process adapter and on the Redis adapter.
import type {
  Fanout,
  FanoutMessage,
  IdempotencyKeys,
  KeyRevocations,
  RateLimiter,
  StreamSlots,
} from '@hangar/core';
import { compareFanoutIds } from '@hangar/core';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test-services/ports.test-helper.js';

/** Opens a fresh adapter (its own keys) and says how to close it. */
export type Open<T> = () => Promise<{ port: T; close(): Promise<void> }>;

function opened<T>(open: Open<T>) {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  return async () => {
    const o = await open();
    closers.push(o.close);
    return o.port;
  };
}

let unique = 0;
const fresh = (what: string) => `${what}-${process.pid}-${Date.now()}-${++unique}`;

/** Rate limiters opened with 20 requests/s and a burst of 3. */
export function describeRateLimiterContract(name: string, open: Open<RateLimiter>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    const get = opened(open);
    it('allows a burst, then answers whole seconds to wait', async () => {
      const rl = await get();
      const key = fresh('k');
      expect([await rl.take(key), await rl.take(key), await rl.take(key)]).toEqual([0, 0, 0]);
      expect(await rl.take(key)).toBeGreaterThanOrEqual(1);
    });
    it('keeps keys apart', async () => {
      const rl = await get();
      const a = fresh('a');
      for (let i = 0; i < 4; i++) await rl.take(a);
      expect(await rl.take(fresh('b'))).toBe(0);
    });
    it('refills a bucket over time', async () => {
      const rl = await get();
      const key = fresh('k');
      for (let i = 0; i < 4; i++) await rl.take(key);
      await waitFor(async () => (await rl.take(key)) === 0, { timeoutMs: 3000, what: 'a refilled token' });
    });
  });
}

/** Stream slots opened with a cap of 2. */
export function describeStreamSlotsContract(name: string, open: Open<StreamSlots>): void {
  describe(`StreamSlots contract: ${name}`, () => {
    const get = opened(open);
    it('caps a holder and frees a slot on release', async () => {
      const slots = await get();
      const h = fresh('key');
      const a = await slots.acquire(h);
      const b = await slots.acquire(h);
      expect(a).not.toBeNull();
      expect(b).not.toBeNull();
      expect(await slots.acquire(h)).toBeNull();
      expect(await slots.countFor(h)).toBe(2);
      a!();
      a!();
      await waitFor(async () => (await slots.countFor(h)) === 1, { timeoutMs: 2000, what: 'a release' });
      expect(await slots.acquire(h)).not.toBeNull();
      expect(await slots.acquire(h)).toBeNull();
    });
    it('counts holders apart', async () => {
      const slots = await get();
      const h = fresh('key');
      await slots.acquire(h);
      await slots.acquire(h);
      expect(await slots.acquire(fresh('other'))).not.toBeNull();
      expect(slots.max).toBe(2);
    });
  });
}

/** Key revocations; every call of `open` is a node of the same cluster (or the same process). */
export function describeRevocationsContract(name: string, open: Open<KeyRevocations>): void {
  describe(`KeyRevocations contract: ${name}`, () => {
    const get = opened(open);
    it('tells a subscriber about an announced key, and stops after unsubscribe', async () => {
      const rev = await get();
      await waitFor(() => rev.reliable(), { timeoutMs: 3000, what: 'a reliable feed' });
      const seen: (string | null)[] = [];
      const off = rev.subscribe((k) => seen.push(k));
      const key = fresh('key');
      await rev.announce(key);
      await waitFor(() => seen.includes(key), { timeoutMs: 2000, what: 'the announcement' });
      off();
      const count = seen.length;
      await rev.announce(fresh('later'));
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.length).toBe(count);
    });
  });
}

/** Idempotency keys opened with a lifetime of 300 ms. */
export function describeIdempotencyContract(name: string, open: Open<IdempotencyKeys>): void {
  describe(`IdempotencyKeys contract: ${name}`, () => {
    const get = opened(open);
    it('remembers a recorded key for its lifetime only, and keys apart', async () => {
      const keys = await get();
      const key = fresh('flush');
      expect(await keys.seen(key)).toBe(false);
      await keys.record(key);
      expect(await keys.seen(key)).toBe(true);
      expect(await keys.seen(fresh('other'))).toBe(false);
      await waitFor(async () => !(await keys.seen(key)), { timeoutMs: 3000, what: 'the key to expire' });
    });
  });
}

/** Fan-outs; every call of `open` is a node of the same cluster (or the same process). */
export function describeFanoutContract(name: string, open: Open<Fanout>): void {
  describe(`Fanout contract: ${name}`, () => {
    const get = opened(open);
    const collect = (fan: Fanout, topic: string, after: string | null) => {
      const got: FanoutMessage[] = [];
      return { got, off: fan.subscribe(topic, after, (m) => got.push(m)) };
    };
    it('delivers what is published from now on, in order, with increasing ids', async () => {
      const fan = await get();
      const topic = fresh('t');
      await fan.publish(topic, 'before');
      const sub = collect(fan, topic, null);
      await new Promise((r) => setTimeout(r, 100));
      for (const d of ['a', 'b', 'c']) await fan.publish(topic, d);
      await waitFor(() => sub.got.length >= 3, { timeoutMs: 3000, what: 'three messages' });
      expect(sub.got.map((m) => m.data)).toEqual(['a', 'b', 'c']);
      expect(compareFanoutIds(sub.got[0]!.id, sub.got[1]!.id)).toBeLessThan(0);
      sub.off();
    });
    it('replays after an id, then goes on live without a gap or a repeat', async () => {
      const fan = await get();
      const topic = fresh('t');
      const ids: string[] = [];
      for (const d of ['1', '2', '3']) ids.push(await fan.publish(topic, d));
      const sub = collect(fan, topic, ids[0]!);
      await waitFor(() => sub.got.length >= 2, { timeoutMs: 3000, what: 'the replay' });
      await fan.publish(topic, '4');
      await waitFor(() => sub.got.length >= 3, { timeoutMs: 3000, what: 'the live message' });
      await new Promise((r) => setTimeout(r, 50));
      expect(sub.got.map((m) => m.data)).toEqual(['2', '3', '4']);
      expect(sub.got[0]!.id).toBe(ids[1]);
      sub.off();
    });
    it('serves a topic subscribed while another is being waited on without waiting for that one', async () => {
      const fan = await get();
      const first = collect(fan, fresh('quiet'), null);
      await new Promise((r) => setTimeout(r, 150));
      const topic = fresh('t');
      const second = collect(fan, topic, '0-0');
      await fan.publish(topic, 'now');
      // Well under the reader's 5 s block: the new subscription must wake it.
      await waitFor(() => second.got.length === 1, { timeoutMs: 2000, what: 'the second topic' });
      expect(first.got).toEqual([]);
      first.off();
      second.off();
    });
    it('keeps subscribers of one topic with different cursors apart, and topics apart', async () => {
      const fan = await get();
      const topic = fresh('t');
      const first = await fan.publish(topic, 'x');
      const live = collect(fan, topic, null);
      const other = collect(fan, fresh('other'), null);
      await new Promise((r) => setTimeout(r, 100));
      const late = collect(fan, topic, '0-0');
      await fan.publish(topic, 'y');
      await waitFor(() => late.got.length >= 2 && live.got.length >= 1, { timeoutMs: 3000, what: 'both' });
      await new Promise((r) => setTimeout(r, 50));
      expect(late.got.map((m) => m.data)).toEqual(['x', 'y']);
      expect(late.got[0]!.id).toBe(first);
      expect(live.got.map((m) => m.data)).toEqual(['y']);
      expect(other.got).toEqual([]);
    });
  });
}
