import { describe, expect, it } from 'vitest';
import { createTokenBuckets } from './rate-limit.js';

describe('token buckets', () => {
  it('allows a burst, then refills at the sustained rate', () => {
    let now = 0;
    const b = createTokenBuckets({ requestsPerSecond: 2, burst: 3, clock: () => now });
    expect([b.take('k'), b.take('k'), b.take('k')]).toEqual([0, 0, 0]);
    expect(b.take('k')).toBe(1);
    now += 499;
    expect(b.take('k')).toBe(1);
    now += 1;
    expect(b.take('k')).toBe(0);
    expect(b.take('other')).toBe(0);
    now += 10_000;
    expect([b.take('k'), b.take('k'), b.take('k'), b.take('k')]).toEqual([0, 0, 0, 1]);
  });

  it('answers Retry-After in whole seconds, at least 1', () => {
    let now = 0;
    const b = createTokenBuckets({ requestsPerSecond: 0.1, burst: 1, clock: () => now });
    expect(b.take('k')).toBe(0);
    expect(b.take('k')).toBe(10);
    now += 9_500;
    expect(b.take('k')).toBe(1);
  });

  it('forgets full buckets when tracking too many keys', () => {
    let now = 0;
    const b = createTokenBuckets({ requestsPerSecond: 1, burst: 1, clock: () => now, maxTracked: 2 });
    b.take('a');
    b.take('b');
    now += 5_000;
    b.take('c');
    expect(b.size()).toBe(1);
  });
});
