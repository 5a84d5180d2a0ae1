import { RUNNER_STATES, type RunnerState } from '@hangar/core';
import type { Runner } from './runner.js';

/** How many of `runners` are in each state. */
export function countStates(runners: readonly Runner[]): Record<RunnerState, number> {
  const c = Object.fromEntries(RUNNER_STATES.map((s) => [s, 0])) as Record<RunnerState, number>;
  for (const r of runners) c[r.state]++;
  return c;
}

/** Requests running on `runners` now. */
export function inFlightOf(runners: readonly Runner[]): number {
  let n = 0;
  for (const r of runners) n += r.jobs.size;
  return n;
}
