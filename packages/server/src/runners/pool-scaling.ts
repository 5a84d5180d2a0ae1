import type { Revision } from '@hangar/core';
import type { AppPool } from './app-pool.js';
import type { SupervisorContext } from './context.js';
import { isSurgeStart } from './metering.js';
import { revisionLoad } from './pool-stats.js';
import { gpuRequestOf, Runner } from './runner.js';
import { runnersToStart } from './scaling.js';

// How an app's pool grows: the runners its queue, `min_concurrency`, a rollout and the cluster's placement
// call for, within the machine's GPUs and fal's `scaling_delay`. The rules themselves are in scaling.ts.

/** Starts runners as the queue and `min_concurrency` need, unless a startup backoff is in force. */
export function scalePool(ctx: SupervisorContext, pool: AppPool, now: number): void {
  if (pool.removed || ctx.closing) return;
  const queued = pool.queue.length + pool.clusterQueued;
  const shares = pool.rollout?.shares(queued);
  scaleRevision(ctx, pool, pool.rev, shares?.current ?? queued, pool.failures, now);
  // The target keeps one runner warm so its share never waits for a cold start per request.
  if (pool.rollout) scaleRevision(ctx, pool, pool.rollout.rev, shares!.target, pool.rollout.failures, now, 1);
}

function scaleRevision(
  ctx: SupervisorContext,
  pool: AppPool,
  rev: Revision,
  queued: number,
  failures: number,
  now: number,
  floor = 0,
): void {
  const m = rev.manifest;
  const { live, starting, freeSlots, inFlight } = revisionLoad(pool.runners, rev.revisionId);
  const queueScaling = queueMayScale(pool, rev, queued > freeSlots, now);
  if (failures > 0 && (starting > 0 || now < pool.nextStartAt)) return;
  const n = runnersToStart({
    queued,
    live,
    freeSlots,
    minConcurrency: Math.max(floor, m.min_concurrency, rev === pool.rev ? placedFloor(ctx, pool) : 0),
    maxConcurrency: maxRunners(ctx, rev),
    maxMultiplexing: m.max_multiplexing,
    cautious: failures > 0,
    inFlight,
    concurrencyBuffer: m.concurrency_buffer ?? 0,
    queueScaling,
  });
  for (let i = 0; i < n; i++) startRunner(ctx, pool, rev);
}

/** Runners for the request slots the cluster's leader placed on this node (0 in embedded mode). */
export function placedFloor(ctx: SupervisorContext, pool: AppPool): number {
  const slots = ctx.deps.placementFloor?.(pool.owner, pool.name) ?? 0;
  return slots > 0 ? Math.ceil(slots / Math.max(1, pool.rev.manifest.max_multiplexing)) : 0;
}

/**
 * `max_concurrency`, capped by how many runners of the revision the machine's GPUs hold at once. A
 * request that never fits (capacity 0) still starts one runner, whose start fails with the reason.
 */
function maxRunners(ctx: SupervisorContext, rev: Revision): number {
  const m = rev.manifest;
  const request = gpuRequestOf(m, ctx.deps.machineTypes[m.machine_type]);
  if (request === null || !ctx.deps.gpuCapacity) return m.max_concurrency;
  return Math.min(m.max_concurrency, Math.max(1, ctx.deps.gpuCapacity(request)));
}

/**
 * fal's `scaling_delay`: runners are started for the current revision's queue only once it has stayed
 * above capacity that long (a burst that free slots absorb meanwhile starts nothing).
 */
function queueMayScale(pool: AppPool, rev: Revision, over: boolean, now: number): boolean {
  if (rev.revisionId !== pool.rev.revisionId) return true;
  if (!over) {
    pool.overCapacitySince = null;
    return true;
  }
  pool.overCapacitySince ??= now;
  return now - pool.overCapacitySince >= (rev.manifest.scaling_delay ?? 0) * 1000;
}

function startRunner(ctx: SupervisorContext, pool: AppPool, rev: Revision): void {
  const machineType = rev.manifest.machine_type;
  const surge = isSurgeStart(ctx.deps.machineTypes[machineType], ctx.liveOfType(machineType));
  const runner = new Runner(ctx, pool, ctx.deps.ids(), rev, surge);
  pool.runners.push(runner);
  void runner.start();
}
