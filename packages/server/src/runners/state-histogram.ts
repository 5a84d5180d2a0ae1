import type { RunnerState } from '@hangar/core';

/** Upper bounds (seconds) of `hangar_runner_state_seconds` buckets, followed by `+Inf`. */
export const STATE_BUCKETS_S: readonly number[] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Observations of one state: per-bucket counts (not cumulative; the last is `+Inf`), sum and count. */
export interface StateObservations {
  buckets: number[];
  sum: number;
  count: number;
}

/** Time runners spent in each state, observed as they left it (since the server started). */
export class StateHistogram {
  private readonly byState = new Map<RunnerState, StateObservations>();

  observe(state: RunnerState, seconds: number): void {
    let o = this.byState.get(state);
    if (o === undefined) {
      o = { buckets: new Array(STATE_BUCKETS_S.length + 1).fill(0), sum: 0, count: 0 };
      this.byState.set(state, o);
    }
    let i = STATE_BUCKETS_S.findIndex((b) => seconds <= b);
    if (i === -1) i = STATE_BUCKETS_S.length;
    o.buckets[i]!++;
    o.sum += seconds;
    o.count++;
  }

  /** A copy of the observations, by state. */
  snapshot(): Partial<Record<RunnerState, StateObservations>> {
    const out: Partial<Record<RunnerState, StateObservations>> = {};
    for (const [state, o] of this.byState) out[state] = { ...o, buckets: [...o.buckets] };
    return out;
  }
}
