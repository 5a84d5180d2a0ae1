import type { Revision } from '@hangar/core';
import type { Runner } from './runner.js';
import { shouldRetire } from './scaling.js';

/**
 * Splits an app's requests between its current revision and a rollout target. The split is counted, not
 * random: after `n` requests started, the target has served exactly `floor(n * percent / 100)` of them,
 * so a small sample shows the configured share.
 */
export class TrafficSplit {
  private started = 0;
  private toTarget = 0;

  constructor(public percent: number) {}

  /** Whether the next request to start belongs to the target (nothing is counted until `taken`). */
  nextIsTarget(): boolean {
    return Math.floor(((this.started + 1) * this.percent) / 100) > this.toTarget;
  }

  /** Counts a started request. */
  taken(target: boolean): void {
    this.started++;
    if (target) this.toTarget++;
  }

  /** Starts counting again (after the percentage changed). */
  reset(percent: number): void {
    this.percent = percent;
    this.started = 0;
    this.toTarget = 0;
  }
}

/** A rollout in progress on one pool: the target revision, its share and its startup health. */
export class Rollout {
  readonly split: TrafficSplit;
  /** Consecutive startup failures of the target; while set, its share falls back to the current revision. */
  failures = 0;

  constructor(
    public rev: Revision,
    percent: number,
  ) {
    this.split = new TrafficSplit(percent);
  }

  get revisionId(): string {
    return this.rev.revisionId;
  }

  /** The revision the next request should start on, given whether the target can take work at all. */
  pick(currentId: string): string {
    if (this.failures > 0) return currentId;
    return this.split.nextIsTarget() ? this.rev.revisionId : currentId;
  }

  /** Records that a request started on `revisionId`. */
  started(revisionId: string): void {
    this.split.taken(revisionId === this.rev.revisionId);
  }

  /** The queued requests each revision should absorb: the target's share, rounded up, and the rest. */
  shares(queued: number): { current: number; target: number } {
    const target = this.failures > 0 ? 0 : Math.ceil((queued * this.split.percent) / 100);
    return { current: queued - Math.min(queued, target), target };
  }
}

/** Retires idle rollout-target runners past their keep-alive, keeping one warm. */
export function retireRolloutIdle(runners: readonly Runner[], rev: Revision, now: number): void {
  const m = rev.manifest;
  let live = 0;
  for (const r of runners)
    if (r.revisionId === rev.revisionId && (r.ready || r.starting) && !r.stopRequested) live++;
  for (const r of runners) {
    if (r.state !== 'idle' || r.revisionId !== rev.revisionId || r.stopRequested) continue;
    if (shouldRetire(r.idleSince, now, m.keep_alive, live, Math.max(1, m.min_concurrency))) {
      r.drain('keep_alive expired');
      live--;
    }
  }
}
