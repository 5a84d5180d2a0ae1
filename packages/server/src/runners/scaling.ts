/** What scaling decisions look at for an app's current revision. */
export interface CapacityView {
  queued: number;
  /** Runners of the current revision that are starting or serving (not draining). */
  live: number;
  /** Free request slots on ready runners plus the full capacity of runners still starting. */
  freeSlots: number;
  minConcurrency: number;
  maxConcurrency: number;
  maxMultiplexing: number;
  /** True while a startup failure backoff is in force or failures happened: start one runner at a time. */
  cautious: boolean;
}

/** How many runners to start now: enough to keep `min_concurrency` warm and to absorb the queue, up to the max. */
export function runnersToStart(v: CapacityView): number {
  const room = v.maxConcurrency - v.live;
  if (room <= 0) return 0;
  const mult = Math.max(1, v.maxMultiplexing);
  const forQueue = v.queued > v.freeSlots ? Math.ceil((v.queued - v.freeSlots) / mult) : 0;
  const want = Math.max(v.minConcurrency - v.live, forQueue);
  if (want <= 0) return 0;
  return Math.min(want, room, v.cautious ? 1 : room);
}

/** Delay before the next start after `failures` consecutive startup failures (exponential, capped). */
export function startupBackoffMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/** True when an idle runner has waited `keep_alive` seconds and the app can spare it. */
export function shouldRetire(
  idleSince: number,
  now: number,
  keepAliveS: number,
  live: number,
  min: number,
): boolean {
  return live > min && now - idleSince >= keepAliveS * 1000;
}
