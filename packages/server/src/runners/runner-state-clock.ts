import type { RunnerState, RunnerStateTimes } from '@hangar/core';

/** A runner's state with the time spent in each: seconds per state left, and the lifecycle timeline. */
export class RunnerStateClock {
  state: RunnerState = 'pending';
  /** When the runner entered its current state. */
  since: number;
  /** Seconds per state left so far, and the lifecycle timeline. */
  readonly times: RunnerStateTimes;

  constructor(createdAt: number) {
    this.since = createdAt;
    this.times = { seconds: {}, timeline: [{ state: 'pending', at: createdAt }] };
  }

  /** Seconds in the current state as of `now`. */
  secondsIn(now: number): number {
    return Math.max(0, now - this.since) / 1000;
  }

  /**
   * Enters `state` at `now`: the time spent in the one left is added to its total and returned
   * (seconds). Going between idle and running adds no timeline entry.
   */
  enter(state: RunnerState, now: number): { from: RunnerState; seconds: number } {
    const from = this.state;
    const seconds = this.secondsIn(now);
    const total = (this.times.seconds[from] ?? 0) + seconds;
    this.times.seconds[from] = Math.round(total * 1000) / 1000;
    this.state = state;
    this.since = now;
    const flip = (from === 'idle' || from === 'running') && (state === 'idle' || state === 'running');
    if (!flip) this.times.timeline.push({ state, at: now });
    return { from, seconds };
  }
}
