import type { AppManifest, LiveRunner, Revision } from '@hangar/core';
import type { AppPool } from './app-pool.js';
import { Rollout } from './rollout.js';
import type { Runner } from './runner.js';

/** Runners of `revisionId` that still count toward its capacity (not draining, not stopping). */
function liveOf(pool: AppPool, revisionId: string): Runner[] {
  return pool.runners.filter(
    (r) => r.revisionId === revisionId && (r.ready || r.starting) && !r.stopRequested,
  );
}

/**
 * Applies new scaling settings to a revision serving in the pool, without a redeploy: runners whose
 * multiplexing differs are replaced (they drain), runners above `max_concurrency` drain (idle ones
 * first), and the pool scales up for a higher `min_concurrency` at once.
 */
export function rescalePool(pool: AppPool, revisionId: string, manifest: AppManifest, now: number): void {
  const target = pool.rollout?.revisionId === revisionId ? pool.rollout : null;
  if (target) target.rev = { ...target.rev, manifest };
  else if (pool.rev.revisionId === revisionId) pool.rev = { ...pool.rev, manifest };
  else return;
  for (const r of liveOf(pool, revisionId))
    if (r.maxMultiplexing !== manifest.max_multiplexing) r.drain('max_multiplexing changed');
  const live = liveOf(pool, revisionId).sort((a, b) => a.jobs.size - b.jobs.size);
  for (const r of live.slice(0, Math.max(0, live.length - manifest.max_concurrency)))
    r.drain('max_concurrency lowered');
  pool.scale(now);
  pool.pump();
}

/** Starts a rollout to `rev` or changes its share; a previous target's runners drain. */
export function setPoolRollout(pool: AppPool, rev: Revision, percent: number, now: number): void {
  if (pool.rollout?.revisionId === rev.revisionId) {
    pool.rollout.rev = rev;
    pool.rollout.split.reset(percent);
  } else {
    const previous = pool.rollout?.revisionId;
    pool.rollout = new Rollout(rev, percent);
    if (previous !== undefined)
      for (const r of pool.runners) if (r.revisionId === previous) r.drain('rollout replaced');
  }
  pool.pump();
  pool.scale(now);
}

/** Ends a rollout without promoting it: the target's runners drain and all traffic returns to the current revision. */
export function abortPoolRollout(pool: AppPool): void {
  const target = pool.rollout?.revisionId;
  pool.rollout = null;
  if (target !== undefined)
    for (const r of pool.runners) if (r.revisionId === target) r.drain('rollout aborted');
  pool.pump();
}

/** The pool's runners that have not terminated. */
export function listPoolRunners(pool: AppPool): LiveRunner[] {
  return pool.runners
    .filter((r) => r.state !== 'terminated')
    .map((r) => ({
      runnerId: r.id,
      revisionId: r.revisionId,
      machineType: r.machineType,
      state: r.state,
      createdAt: r.createdAt,
      readyAt: r.readyAt,
      inFlight: r.jobs.size,
      maxMultiplexing: r.maxMultiplexing,
      stopping: r.stopRequested,
      stateSince: r.clock.since,
      times: { seconds: { ...r.clock.times.seconds }, timeline: [...r.clock.times.timeline] },
      gpus: r.gpus.history.map((g) => ({ ...g })),
    }));
}
