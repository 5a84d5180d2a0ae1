import { describe, expect, it } from 'vitest';
import { eventClock } from './event-clock.js';

describe('eventClock', () => {
  it('never repeats or goes back a millisecond, and follows the clock when it moves ahead', () => {
    const times = [1_000, 1_000, 1_000, 999, 5_000, 5_000];
    let i = 0;
    const next = eventClock(() => times[i++]!);
    expect(times.map(() => next())).toEqual([1_000, 1_001, 1_002, 1_003, 5_000, 5_001]);
  });
});
