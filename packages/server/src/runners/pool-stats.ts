import { type AppLiveStats, RUNNER_STATES, type RunnerSample, type RunnerState } from '@hangar/core';
import type { AppPool } from './app-pool.js';
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

/** What scaling one revision weighs: its runners taking work (or about to), their free slots and load. */
export interface RevisionLoad {
  /** Runners of the revision not draining, stopping or suspect. */
  live: number;
  starting: number;
  /** Free slots of those runners, counting every slot of a starting one. */
  freeSlots: number;
  inFlight: number;
}

/** The load of `revisionId`'s runners among `runners`, for scaling. */
export function revisionLoad(runners: readonly Runner[], revisionId: string): RevisionLoad {
  const load: RevisionLoad = { live: 0, starting: 0, freeSlots: 0, inFlight: 0 };
  for (const r of runners) {
    if (r.revisionId !== revisionId || r.state === 'draining' || r.state === 'terminated') continue;
    if (r.stopRequested || r.suspectSince !== null) continue;
    load.live++;
    load.inFlight += r.jobs.size;
    if (r.starting) {
      load.starting++;
      load.freeSlots += r.maxMultiplexing;
    } else load.freeSlots += r.maxMultiplexing - r.jobs.size;
  }
  return load;
}

/** The ready runner of `revisionId` among `runners` (passing `accept`, if given) with the most free slots, or null. */
export function freestRunner(
  runners: readonly Runner[],
  revisionId: string,
  accept?: (r: Runner) => boolean,
): Runner | null {
  let best: Runner | null = null;
  let bestFree = 0;
  for (const r of runners) {
    if (!r.ready || r.revisionId !== revisionId) continue;
    if (accept !== undefined && !accept(r)) continue;
    const free = r.maxMultiplexing - r.jobs.size;
    if (free > bestFree) {
      best = r;
      bestFree = free;
    }
  }
  return best;
}

/** The pool's runner counts at `ts`, in the sample's coarser states. */
export function poolSample(pool: AppPool, ts: number): RunnerSample {
  const c = countStates(pool.runners);
  return {
    ts,
    owner: pool.owner,
    app: pool.name,
    pending: c.pending + c.docker_pull,
    setup: c.setup,
    idle: c.idle,
    running: c.running,
    draining: c.draining + c.terminating,
  };
}

/** The pool's live figures; `gpuLabel` is reported as its machine type. */
export function poolStats(pool: AppPool, gpuLabel: string): AppLiveStats {
  return {
    owner: pool.owner,
    app: pool.name,
    machineType: gpuLabel,
    queueSize: pool.queue.length,
    inFlight: inFlightOf(pool.runners),
    runners: countStates(pool.runners),
    retries: { ...pool.retries },
    hintHits: pool.hintHits,
    hintMisses: pool.hintMisses,
    gpus: pool.runners.flatMap((r) =>
      r.state === 'terminated' ? [] : r.gpus.usage.map((u) => ({ runnerId: r.id, ...u })),
    ),
    stateSeconds: pool.stateTimes.snapshot(),
  };
}
