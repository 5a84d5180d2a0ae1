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
  /** Requests running on the revision's runners now (default 0). */
  inFlight?: number;
  /** fal's `concurrency_buffer`: runners kept above those the requests in flight need (default 0). */
  concurrencyBuffer?: number;
  /** False while `scaling_delay` holds back starting runners for the queue (default true). */
  queueScaling?: boolean;
}

/**
 * Runners to keep even when idle: `min_concurrency`, or the runners the requests in flight need plus
 * `concurrency_buffer` when that is more (fal: "the system keeps whichever is higher").
 */
export function warmFloor(
  minConcurrency: number,
  buffer: number,
  inFlight: number,
  maxMultiplexing: number,
): number {
  if (buffer <= 0) return minConcurrency;
  return Math.max(minConcurrency, Math.ceil(inFlight / Math.max(1, maxMultiplexing)) + buffer);
}

/**
 * How many runners to start now: enough to keep the warm floor (`min_concurrency`, `concurrency_buffer`)
 * and, unless `scaling_delay` holds it back, to absorb the queue; never above `max_concurrency`.
 */
export function runnersToStart(v: CapacityView): number {
  const room = v.maxConcurrency - v.live;
  if (room <= 0) return 0;
  const mult = Math.max(1, v.maxMultiplexing);
  const over = v.queued > v.freeSlots && v.queueScaling !== false;
  const forQueue = over ? Math.ceil((v.queued - v.freeSlots) / mult) : 0;
  const floor = warmFloor(v.minConcurrency, v.concurrencyBuffer ?? 0, v.inFlight ?? 0, mult);
  const want = Math.max(floor - v.live, forQueue);
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
