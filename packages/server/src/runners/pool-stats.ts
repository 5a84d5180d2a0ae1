import type { RunnerState } from '@hangar/core';
import type { Runner } from './runner.js';

/** How many of `runners` are in each state. */
export function countStates(runners: readonly Runner[]): Record<RunnerState, number> {
  const c: Record<RunnerState, number> = {
    pending: 0,
    setup: 0,
    idle: 0,
    running: 0,
    draining: 0,
    terminated: 0,
  };
  for (const r of runners) c[r.state]++;
  return c;
}

/** Requests running on `runners` now. */
export function inFlightOf(runners: readonly Runner[]): number {
  let n = 0;
  for (const r of runners) n += r.jobs.size;
  return n;
}
