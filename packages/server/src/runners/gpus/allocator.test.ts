import { describe, expect, it } from 'vitest';
import { cardMatches, createGpuAllocator, type GpuLease } from './allocator.js';
import { FAKE_CARDS } from './fake-nvidia-smi.test-helper.js';

const H100 = (count: number) => ({ count, product: 'H100' });
const indexes = (l: GpuLease) => l.cards.map((c) => c.index);

describe('GPU allocator', () => {
  it('matches products as words of the card name', () => {
    const h100 = FAKE_CARDS[0]!;
    const a100 = FAKE_CARDS[6]!;
    expect(cardMatches(h100, 'H100')).toBe(true);
    expect(cardMatches(h100, 'h100')).toBe(true);
    expect(cardMatches(a100, 'A100')).toBe(true);
    expect(cardMatches(h100, 'H10')).toBe(false);
    expect(cardMatches(a100, 'H100')).toBe(false);
    expect(cardMatches(a100, null)).toBe(true);
  });

  it('never gives a card to two runners, and hands freed cards to waiters in FIFO order', async () => {
    const gpus = createGpuAllocator(FAKE_CARDS);
    const a = await gpus.acquire(H100(2), undefined, () => {});
    const b = await gpus.acquire(H100(3), undefined, () => {});
    expect(indexes(a)).toEqual([0, 1]);
    expect(indexes(b)).toEqual([2, 3, 4]);
    const waits: string[] = [];
    let got2: GpuLease | null = null;
    let got1: GpuLease | null = null;
    // One H100 is free: the 2-card request waits, and the 1-card request behind it may not take it.
    const second = gpus.acquire(H100(2), undefined, (why) => waits.push(why)).then((l) => (got2 = l));
    const first = gpus.acquire(H100(1), undefined, (why) => waits.push(why)).then((l) => (got1 = l));
    await Promise.resolve();
    expect(waits).toEqual(['waiting for 2 GPUs of H100', 'waiting for 1 GPU of H100']);
    // Another product passes the queue.
    expect(indexes(await gpus.acquire({ count: 2, product: 'A100' }, undefined, () => {}))).toEqual([6, 7]);
    // Two cards come free: the older 2-card waiter takes them, then the 1-card one the card it skipped.
    a.release();
    a.release();
    await Promise.all([second, first]);
    expect(indexes(got2!)).toEqual([0, 1]);
    expect(indexes(got1!)).toEqual([5]);
    expect(gpus.free().map((c) => c.index)).toEqual([]);
    b.release();
    expect(gpus.free().map((c) => c.index)).toEqual([2, 3, 4]);
    const held = [...got2!.cards, ...got1!.cards, ...b.cards].map((c) => c.uuid);
    expect(new Set(held).size).toBe(held.length);
  });

  it('rejects a request that can never fit, and counts how many fit at once', async () => {
    const gpus = createGpuAllocator(FAKE_CARDS);
    await expect(gpus.acquire(H100(7), undefined, () => {})).rejects.toThrow(
      'needs 7 GPUs of H100 but this machine has 6',
    );
    await expect(gpus.acquire({ count: 1, product: 'B200' }, undefined, () => {})).rejects.toThrow(
      'no GPU of product B200 on this machine',
    );
    expect(gpus.capacity(H100(2))).toBe(3);
    expect(gpus.capacity(H100(4))).toBe(1);
    expect(gpus.capacity({ count: 1, product: null })).toBe(8);
    expect(gpus.capacity({ count: 1, product: 'B200' })).toBe(0);
  });

  it('stops waiting when aborted, letting later requests through', async () => {
    const gpus = createGpuAllocator(FAKE_CARDS);
    const all = await gpus.acquire(H100(5), undefined, () => {});
    const abort = new AbortController();
    const big = gpus.acquire(H100(2), abort.signal, () => {});
    const small = gpus.acquire(H100(1), undefined, () => {});
    abort.abort(new Error('stopped'));
    await expect(big).rejects.toThrow('stopped');
    expect(indexes(await small)).toEqual([5]);
    all.release();
    expect(gpus.free().map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 6, 7]);
  });
});
