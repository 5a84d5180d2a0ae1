import {
  type AppLiveStats,
  type DispatchResult,
  PlatformError,
  type RetryCondition,
  type Revision,
  type RunnerSample,
  type RunnerState,
} from '@hangar/core';
import type { SupervisorContext } from './context.js';
import { holdAttempt, sendAttempt } from './dispatch/forward.js';
import type { Job } from './dispatch/job.js';
import { settleAttempt } from './dispatch/outcome.js';
import { cancelledResult, errorResult, startTimeoutResult } from './dispatch/results.js';
import { mayRetry, type RetryMode } from './dispatch/retry-rules.js';
import { JobQueue } from './job-queue.js';
import { placedFloor, scalePool } from './pool-scaling.js';
import { countStates, freestRunner, poolSample, poolStats } from './pool-stats.js';
import { type Rollout, retireRolloutIdle } from './rollout.js';
import type { Runner, RunnerOwner } from './runner.js';
import { shouldRetire, startupBackoffMs, warmFloor } from './scaling.js';
import { StateHistogram } from './state-histogram.js';

/** The runners and the queue of one app, across its revisions. */
export class AppPool implements RunnerOwner {
  readonly queue = new JobQueue<Job>();
  readonly runners: Runner[] = [];
  /** Consecutive startup failures of the current revision. */
  failures = 0;
  nextStartAt = 0;
  /** Since when the current revision's queue has been above its capacity (for `scaling_delay`), or null. */
  overCapacitySince: number | null = null;
  removed = false;
  /** A second revision taking a share of the traffic (`hangar apps rollout`), or null. */
  rollout: Rollout | null = null;
  /** Retries made since start, by condition (reported as a metric). */
  readonly retries: Record<RetryCondition, number> = { server_error: 0, timeout: 0, connection_error: 0 };
  /** Requests this node accepted that wait in a cluster queue (see cluster/queue): scaled for like local ones. */
  clusterQueued = 0;
  /** Attempts of hinted requests that started on a runner with (hits) or without (misses) their hint. */
  hintHits = 0;
  hintMisses = 0;
  /** Time runners of the app spent in each state, observed as they leave it. */
  readonly stateTimes = new StateHistogram();
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
      const runner = this.pickRunnerFor(job, revisionId);
      if (runner !== null) {
        this.rollout?.started(revisionId);
        this.startAttempt(runner, job);
        return;
      }
    }
    this.enqueue(job);
    this.pump();
  }

  /** Free slots of ready runners of the serving revisions, less what already waits in the local queue. */
  freeSlots(): number {
    let free = 0;
    for (const r of this.runners) {
      if (r.ready && this.serves(r) && !r.stopRequested && r.suspectSince === null)
        free += r.maxMultiplexing - r.jobs.size;
    }
    return Math.max(0, free - this.queue.length);
  }

  /** Moves queued work onto free slots, then starts runners for what is left. */
  pump(): void {
    if (this.ctx.closing) return;
    while (this.queue.length > 0) {
      const revisionId = this.nextRevision();
      const runner = this.pickRunnerFor(this.queue.peek()!, revisionId);
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

  /**
   * fal's hot app routing: a free runner of `revisionId` that reported the job's `X-Fal-Runner-Hint`,
   * else any free runner of it. Only free runners are considered, so a hint never makes a request wait.
   */
  private pickRunnerFor(job: Job, revisionId: string): Runner | null {
    const hint = job.req.runnerHint;
    if (hint) {
      const hinted = this.pickRunner(revisionId, (r) => r.hints.has(hint));
      if (hinted !== null) return hinted;
    }
    return this.pickRunner(revisionId);
  }

  /** The ready runner of `revisionId` (default: the current revision, passing `accept`) with the most free slots, or null. */
  private pickRunner(revisionId = this.rev.revisionId, accept?: (r: Runner) => boolean): Runner | null {
    return freestRunner(this.runners, revisionId, accept);
  }

  private startAttempt(runner: Runner, job: Job): void {
    const now = this.ctx.deps.clock();
    job.clearDeadline();
    const deadline = job.req.startDeadline;
    if (deadline !== null && now >= deadline) {
      job.settle(startTimeoutResult(job, now));
      return;
    }
    const hint = job.req.runnerHint;
    if (hint) {
      if (runner.hints.has(hint)) this.hintHits++;
      else this.hintMisses++;
    }
    job.state = 'running';
    job.runner = runner;
    job.attempts++;
    job.resetAttempt();
    job.startedAt = now;
    job.coldStart = runner.readyAt! > job.enqueuedAt;
    job.coldBootMs = job.coldStart ? runner.readyAt! - runner.meter.setupAt! : null;
    runner.jobs.add(job);
    runner.markBusy(now);
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
      if (runner.state === 'running') runner.markIdle(now);
      else runner.finishDrain();
    }
    settleAttempt(this.ctx, this, job, runner, now);
    this.pump();
  }

  /** Settles the job with `result` on the next tick, once output read this turn is captured. */
  settleNextTick(job: Job, result: DispatchResult): void {
    job.answer = result;
    if (this.answered.push(job) === 1) setImmediate(this.settleAnswered);
  }

  /** Queues a job until its start deadline, if it has one; a deadline already past settles it at once. */
  private enqueue(job: Job): void {
    const deadline = job.req.startDeadline;
    if (deadline === null) {
      this.queue.push(job);
      return;
    }
    const now = this.ctx.deps.clock();
    if (now >= deadline) {
      job.settle(startTimeoutResult(job, now));
      return;
    }
    this.queue.push(job);
    job.deadlineTimer = setTimeout(() => this.expireStart(job), deadline - now);
    job.deadlineTimer.unref();
  }

  /** The start deadline fired: a job still waiting leaves the queue with fal's user timeout. */
  private expireStart(job: Job): void {
    job.deadlineTimer = null;
    if (job.state !== 'queued' || !this.queue.remove(job)) return;
    job.settle(startTimeoutResult(job, this.ctx.deps.clock()));
  }

  /**
   * Puts a job whose attempt failed back in line when its retry rules allow it (see `RetryMode`),
   * counting the retry under `condition` and noting it in the request's logs.
   */
  retry(job: Job, runner: Runner, condition: RetryCondition, mode: RetryMode, detail: string): boolean {
    if (this.removed || this.ctx.closing) return false;
    if (!mayRetry(job, runner.manifest, condition, mode, this.ctx.maxAttempts)) return false;
    job.retriesBy[condition]++;
    this.retries[condition]++;
    this.ctx.logs.note(
      runner,
      job,
      'warn',
      `Attempt ${job.attempts} failed (${condition}: ${detail}); retrying the request`,
    );
    job.state = 'queued';
    job.runner = null;
    this.enqueue(job);
    return true;
  }

  /** Starts runners as the queue and `min_concurrency` need, unless a startup backoff is in force. */
  scale(now: number): void {
    scalePool(this.ctx, this, now);
  }

  runnerReady(runner: Runner): void {
    if (runner.revisionId === this.rev.revisionId) this.failures = 0;
    if (this.rollout && runner.revisionId === this.rollout.revisionId) this.rollout.failures = 0;
    if (this.removed) runner.drain('app removed');
    else if (this.ctx.closing) runner.drain('server shutting down');
    else if (!this.serves(runner)) runner.drain('revision replaced');
    else this.pump();
  }

  stateLeft(state: RunnerState, seconds: number): void {
    this.stateTimes.observe(state, seconds);
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
    let inFlight = 0;
    for (const r of this.runners) {
      r.checkStartup(now);
      r.checkSuspect(now);
      if (r.revisionId === this.rev.revisionId && (r.ready || r.starting) && !r.stopRequested) {
        live++;
        inFlight += r.jobs.size;
      }
    }
    const placed = Math.max(m.min_concurrency, placedFloor(this.ctx, this));
    const keep = warmFloor(placed, m.concurrency_buffer ?? 0, inFlight, m.max_multiplexing);
    for (const r of this.runners) {
      if (r.state !== 'idle' || r.revisionId !== this.rev.revisionId || r.stopRequested) continue;
      if (shouldRetire(r.idleSince, now, m.keep_alive, live, keep)) {
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
    this.overCapacitySince = null;
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
    return countStates(this.runners);
  }

  sample(ts: number): RunnerSample {
    return poolSample(this, ts);
  }

  stats(gpuLabel: string): AppLiveStats {
    return poolStats(this, gpuLabel);
  }
}
