import { describe, expect, it } from 'vitest';
import { TrafficSplit } from './rollout.js';

function run(split: TrafficSplit, n: number): number {
  let toTarget = 0;
  for (let i = 0; i < n; i++) {
    const target = split.nextIsTarget();
    split.taken(target);
    if (target) toTarget++;
  }
  return toTarget;
}

describe('TrafficSplit', () => {
  it('sends exactly floor(n * percent / 100) of n requests to the target', () => {
    for (const percent of [1, 10, 33, 50, 99])
      for (const n of [1, 7, 100, 1000])
        expect(run(new TrafficSplit(percent), n)).toBe(Math.floor((n * percent) / 100));
  });

  it('counts again from zero after the percent changes', () => {
    const split = new TrafficSplit(10);
    run(split, 5);
    split.reset(50);
    expect(run(split, 10)).toBe(5);
  });
});
