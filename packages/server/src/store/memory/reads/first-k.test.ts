import { describe, expect, it } from 'vitest';
import { FirstK } from './first-k.js';

describe('FirstK', () => {
  it('keeps the first k items in order, whatever order they arrive in', () => {
    const values = Array.from({ length: 500 }, (_, i) => ({ v: (i * 7919) % 997, i }));
    const order = (a: { v: number; i: number }, b: { v: number; i: number }) => a.v - b.v || a.i - b.i;
    const sorted = [...values].sort(order);
    for (const input of [values, sorted, [...sorted].reverse()]) {
      for (const k of [0, 1, 5, 96, 500, 600]) {
        const top = new FirstK(k, order);
        for (const x of input) top.offer(x);
        expect(top.sorted()).toEqual(sorted.slice(0, k));
      }
    }
  });
});
