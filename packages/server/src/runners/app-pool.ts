import {
  type AppLiveStats,
  type DispatchResult,
  PlatformError,
  type Revision,
  type RunnerSample,
  type RunnerState,
} from '@hangar/core';
import type { SupervisorContext } from './context.js';
import { holdAttempt, sendAttempt } from './dispatch/forward.js';
import type { Job } from './dispatch/job.js';
import { settleAttempt } from './dispatch/outcome.js';
import { cancelledResult, errorResult } from './dispatch/results.js';
import { JobQueue } from './job-queue.js';
import { isSurgeStart } from './metering.js';
import type { Rollout } from './rollout.js';
import { Runner, type RunnerOwner } from './runner.js';
import { runnersToStart, shouldRetire, startupBackoffMs } from './scaling.js';

/** The runners and the queue of one app, across its revisions. */
export class AppPool implements RunnerOwner {
  readonly queue = new JobQueue<Job>();
  readonly runners: Runner[] = [];
  /** Consecutive startup failures of the current revision. */
  failures = 0;
  nextStartAt = 0;
  removed = false;
  /** A second revision taking a share of the traffic (`hangar apps rollout`), or null. */
  rollout: Rollout | null = null;
  private readonly ended: Array<() => void> = [];
  /** Jobs answered this turn, settled together on the next one (after their log lines are flushed). */
  private answered: Job[] = [];
  private readonly settleAnswered = () => {
    const jobs = this.answered;
    this.answered = [];
    this.ctx.logs.flush();
    for (const job of jobs) job.settle(job.answer!);
  };

  constructor(
    private readonly ctx: SupervisorContext,
    public rev: Revision,
  ) {}

  get owner(): string {
    return this.rev.owner;
  }

  get name(): string {
    return this.rev.app;
  }

  /** Runs the job on a free runner now, or queues it (and scales up). */
  submit(job: Job): void {
    if (this.queue.length === 0) {
      const revisionId = this.nextRevision();
      const runner = this.pickRunner(revisionId);
      if (runner !== null) {
        this.rollout?.started(revisionId);
        this.startAttempt(runner, job);
        return;
      }
    }
    this.queue.push(job);
    this.pump();
  }

  /** Moves queued work onto free slots, then starts runners for what is left. */
  pump(): void {
    if (this.ctx.closing) return;
    while (this.queue.length > 0) {
      const revisionId = this.nextRevision();
      const runner = this.pickRunner(revisionId);
      if (runner === null) break;
      this.rollout?.started(revisionId);
      this.startAttempt(runner, this.queue.shift()!);
    }
    if (this.queue.length > 0) this.scale(this.ctx.deps.clock());
  }

  /** The revision the next request starts on: the current one, or the rollout's share. */
  private nextRevision(): string {
    return this.rollout?.pick(this.rev.revisionId) ?? this.rev.revisionId;
  }

  /** Whether a runner belongs to a revision that serves traffic (current or rollout target). */
  private serves(runner: Runner): boolean {
    return runner.revisionId === this.rev.revisionId || runner.revisionId === this.rollout?.revisionId;
  }

  /** The ready runner of `revisionId` (default: the current revision) with the most free slots, or null. */
  private pickRunner(revisionId = this.rev.revisionId): Runner | null {
    let best: Runner | null = null;
    let bestFree = 0;
    for (const r of this.runners) {
      if (!r.ready || r.revisionId !== revisionId) continue;
      const free = r.maxMultiplexing - r.jobs.size;
      if (free > bestFree) {
        best = r;
        bestFree = free;
      }
    }
    return best;
  }

  private startAttempt(runner: Runner, job: Job): void {
    const now = this.ctx.deps.clock();
    job.state = 'running';
    job.runner = runner;
    job.attempts++;
    job.resetAttempt();
    job.startedAt = now;
    job.coldStart = runner.readyAt! > job.enqueuedAt;
    job.coldBootMs = job.coldStart ? runner.readyAt! - runner.setupAt! : null;
    runner.jobs.add(job);
    if (runner.state === 'idle') runner.state = 'running';
    const onStart = job.req.onStart;
    if (onStart) {
      onStart({
        runnerId: runner.id,
        startedAt: now,
        coldStart: job.coldStart,
        coldBootMs: job.coldBootMs,
        attempt: job.attempts,
      });
    }
    const hold = job.req.hold;
    if (hold) holdAttempt(runner, job, hold);
    else sendAttempt(runner, job);
  }

  attemptEnded(job: Job): void {
    const runner = job.runner!;
    const now = this.ctx.deps.clock();
    runner.jobs.delete(job);
    if (runner.jobs.size === 0) {
      if (runner.state === 'running') {
        runner.state = 'idle';
        runner.idleSince = now;
      } else runner.finishDrain();
    }
    settleAttempt(this.ctx, this, job, runner, now);
    this.pump();
  }

  /** Settles the job with `result` on the next tick, once output read this turn is captured. */
  settleNextTick(job: Job, result: DispatchResult): void {
    job.answer = result;
    if (this.answered.push(job) === 1) setImmediate(this.settleAnswered);
  }

  /** Puts a job whose attempt failed back in line for another runner. */
  requeue(job: Job): void {
    job.state = 'queued';
    job.runner = null;
    this.queue.push(job);
  }

  /** Whether a failed attempt of this job may run again. */
  canRetry(job: Job): boolean {
    return !job.req.noRetry && job.attempts < this.ctx.maxAttempts && !this.removed && !this.ctx.closing;
  }

  /** Starts runners as the queue and `min_concurrency` need, unless a startup backoff is in force. */
  scale(now: number): void {
    if (this.removed || this.ctx.closing) return;
    const shares = this.rollout?.shares(this.queue.length);
    this.scaleRevision(this.rev, shares?.current ?? this.queue.length, this.failures, now);
    // The target keeps one runner warm so its share never waits for a cold start per request.
    if (this.rollout) this.scaleRevision(this.rollout.rev, shares!.target, this.rollout.failures, now, 1);
  }

  private scaleRevision(rev: Revision, queued: number, failures: number, now: number, floor = 0): void {
    const m = rev.manifest;
    let live = 0;
    let starting = 0;
    let freeSlots = 0;
    for (const r of this.runners) {
      if (r.revisionId !== rev.revisionId || r.state === 'draining' || r.state === 'terminated') continue;
      if (r.stopRequested || r.suspectSince !== null) continue;
      live++;
      if (r.starting) {
        starting++;
        freeSlots += r.maxMultiplexing;
      } else freeSlots += r.maxMultiplexing - r.jobs.size;
    }
    if (failures > 0 && (starting > 0 || now < this.nextStartAt)) return;
    const n = runnersToStart({
      queued,
      live,
      freeSlots,
      minConcurrency: Math.max(floor, m.min_concurrency),
      maxConcurrency: m.max_concurrency,
      maxMultiplexing: m.max_multiplexing,
      cautious: failures > 0,
    });
    for (let i = 0; i < n; i++) this.startRunner(rev);
  }

  private startRunner(rev = this.rev): void {
    const machineType = rev.manifest.machine_type;
    const surge = isSurgeStart(this.ctx.deps.machineTypes[machineType], this.ctx.liveOfType(machineType));
    const runner = new Runner(this.ctx, this, this.ctx.deps.ids(), rev, surge);
    this.runners.push(runner);
    void runner.start();
  }

  runnerReady(runner: Runner): void {
    if (runner.revisionId === this.rev.revisionId) this.failures = 0;
    if (this.rollout && runner.revisionId === this.rollout.revisionId) this.rollout.failures = 0;
    if (this.removed) runner.drain('app removed');
    else if (this.ctx.closing) runner.drain('server shutting down');
    else if (!this.serves(runner)) runner.drain('revision replaced');
    else this.pump();
  }

  runnerEnded(runner: Runner, startupFailed: boolean): void {
    const i = this.runners.indexOf(runner);
    if (i !== -1) this.runners.splice(i, 1);
    if (startupFailed && runner.revisionId === this.rev.revisionId) {
      this.failures++;
      const delay = startupBackoffMs(this.failures, this.ctx.backoffBaseMs, this.ctx.backoffMaxMs);
      this.nextStartAt = this.ctx.deps.clock() + delay;
    }
    if (startupFailed && this.rollout && runner.revisionId === this.rollout.revisionId) {
      this.rollout.failures++;
      this.pump();
    }
    if (this.runners.length === 0) for (const notify of this.ended.splice(0)) notify();
    this.scale(this.ctx.deps.clock());
  }

  /** Housekeeping: startup checks, keep-alive retirement, queue deadlines under startup failure, scaling. */
  tick(now: number): void {
    const m = this.rev.manifest;
    let live = 0;
    for (const r of this.runners) {
      r.checkStartup(now);
      r.checkSuspect(now);
      if (r.revisionId === this.rev.revisionId && (r.ready || r.starting) && !r.stopRequested) live++;
    }
    for (const r of this.runners) {
      if (r.state !== 'idle' || r.revisionId !== this.rev.revisionId || r.stopRequested) continue;
      if (shouldRetire(r.idleSince, now, m.keep_alive, live, m.min_concurrency)) {
        r.drain('keep_alive expired');
        live--;
      }
    }
    if (this.rollout) retireRolloutIdle(this.runners, this.rollout.rev, now);
    if (this.failures > 0 && this.queue.length > 0) this.expireQueued(now);
    this.scale(now);
  }

  /** While no runner can start, queued requests fail once they waited their own timeout. */
  private expireQueued(now: number): void {
    for (const job of this.queue.toArray()) {
      if (now - job.enqueuedAt < job.req.timeoutMs) continue;
      this.queue.remove(job);
      job.settle(errorResult(job, 'RUNNER_STARTUP_FAILED', now, 'startup', null));
    }
  }

  /** Rolls over to a new revision: old runners drain, new ones come up and take the queue. */
  deploy(rev: Revision): void {
    if (rev.revisionId === this.rev.revisionId) return;
    this.rev = rev;
    this.rollout = null;
    this.failures = 0;
    this.nextStartAt = 0;
    for (const r of this.runners) if (r.revisionId !== rev.revisionId) r.drain('revision replaced');
    this.scale(this.ctx.deps.clock());
    this.pump();
  }

  /** Cancels every queued job; returns them. */
  flush(now: number): Job[] {
    const jobs = this.queue.drainAll();
    for (const job of jobs) job.settle(cancelledResult(job, now));
    return jobs;
  }

  /** Drains every runner; resolves once all have terminated. */
  drainAll(reason: string): Promise<void> {
    for (const r of this.runners) r.drain(reason);
    if (this.runners.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.ended.push(resolve));
  }

  /** Rejects queued jobs: they were not started and stay unfinished for the next server process. */
  abandonQueued(): void {
    for (const job of this.queue.drainAll()) job.abandon(new PlatformError('SERVER_SHUTTING_DOWN'));
  }

  counts(): Record<RunnerState, number> {
    const c: Record<RunnerState, number> = {
      pending: 0,
      setup: 0,
      idle: 0,
      running: 0,
      draining: 0,
      terminated: 0,
    };
    for (const r of this.runners) c[r.state]++;
    return c;
  }

  sample(ts: number): RunnerSample {
    const c = this.counts();
    return {
      ts,
      owner: this.owner,
      app: this.name,
      pending: c.pending,
      setup: c.setup,
      idle: c.idle,
      running: c.running,
      draining: c.draining,
    };
  }

  stats(gpuLabel: string): AppLiveStats {
    let inFlight = 0;
    for (const r of this.runners) inFlight += r.jobs.size;
    return {
      owner: this.owner,
      app: this.name,
      machineType: gpuLabel,
      queueSize: this.queue.length,
      inFlight,
      runners: this.counts(),
    };
  }
}

/** Retires idle rollout-target runners past their keep-alive, keeping one warm. */
function retireRolloutIdle(runners: readonly Runner[], rev: Revision, now: number): void {
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
