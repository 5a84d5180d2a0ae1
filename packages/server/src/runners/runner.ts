import { mkdir } from 'node:fs/promises';
import type {
  AppManifest,
  EventCategory,
  MeterRecord,
  Revision,
  RunnerHandle,
  RunnerPhase,
  RunnerRow,
  RunnerState,
} from '@hangar/core';
import { Pool } from 'undici';
import type { SupervisorContext } from './context.js';
import type { Job } from './dispatch/job.js';
import { RunnerGpuSamples } from './runner-gpus.js';
import { parseRunnerHints, RUNNER_HINTS_HEADER } from './runner-hints.js';
import { RunnerMeter } from './runner-meter.js';
import { FOREIGN_LISTENER as FOREIGN, probeReady, probeTcp } from './runner-probes.js';
import { runnerEventPayload, runnerRow } from './runner-records.js';
import { buildRunnerSpec } from './runner-spec.js';
import { RunnerStateClock } from './runner-state-clock.js';

export { gpuRequestOf } from './runner-spec.js';

const NO_HINTS: ReadonlySet<string> = new Set();

/**
 * How long a runner that dropped a connection stays out of rotation before it is drained. A crashing
 * runner usually exits within this time and is then recorded as failed rather than as stopped by us.
 */
const SUSPECT_GRACE_MS = 1000;

/** How a runner's pool hears about its lifecycle. */
export interface RunnerOwner {
  runnerReady(runner: Runner): void;
  runnerEnded(runner: Runner, startupFailed: boolean): void;
  /** The runner left `state` after `seconds` in it (for the state-time histogram). */
  stateLeft(state: RunnerState, seconds: number): void;
}

interface EndEvent {
  category: EventCategory;
  reason: string;
}

/** One runner process of an app revision, from `pending` to `terminated`. */
export class Runner {
  /** Its state, when it entered it, and the time spent in each. */
  readonly clock: RunnerStateClock;
  /** Its machine time, metered from setup. */
  readonly meter = new RunnerMeter();
  handle: RunnerHandle | null = null;
  /** Connections to the runner, one per multiplexing slot. */
  http: Pool | null = null;
  readonly jobs = new Set<Job>();
  readonly owner: string;
  readonly app: string;
  readonly revisionId: string;
  readonly manifest: AppManifest;
  readonly createdAt: number;
  readyAt: number | null = null;
  idleSince = 0;
  endedAt: number | null = null;
  /** When the runner last dropped a connection mid-request; it takes no work while set. */
  suspectSince: number | null = null;
  /** What the app last reported in `x-fal-runner-hints` (the model or LoRA it has loaded, …). */
  hints: ReadonlySet<string> = NO_HINTS;
  /** Its GPUs as sampled: the last sample, and the history folded per card. */
  readonly gpus = new RunnerGpuSamples();
  private tcpChecking = false;
  private end: EndEvent | null = null;
  private stopping = false;
  private healthPolling = false;
  private drainReason = '';
  private dataHeld = false;
  /** Aborts the driver's start (e.g. a wait for GPUs) when the runner is stopped before it started. */
  private readonly startAbort = new AbortController();

  constructor(
    private readonly ctx: SupervisorContext,
    private readonly pool: RunnerOwner,
    readonly id: string,
    readonly rev: Revision,
    readonly isSurge: boolean,
  ) {
    this.owner = rev.owner;
    this.app = rev.app;
    this.revisionId = rev.revisionId;
    this.manifest = rev.manifest;
    this.createdAt = ctx.deps.clock();
    this.clock = new RunnerStateClock(this.createdAt);
  }

  get state(): RunnerState {
    return this.clock.state;
  }

  /** The node running it (the supervisor's node id). */
  get nodeId(): string {
    return this.ctx.deps.nodeId ?? 'local';
  }

  /** Enters `state`; the time spent in the one left is reported to the pool and returned (seconds). */
  private enter(state: RunnerState, now = this.ctx.deps.clock()): { from: RunnerState; seconds: number } {
    const left = this.clock.enter(state, now);
    this.pool.stateLeft(left.from, left.seconds);
    return left;
  }

  /** A request started on the runner: an idle runner becomes running. */
  markBusy(now: number): void {
    if (this.state === 'idle') this.enter('running', now);
  }

  /** The runner's last request ended: a running runner becomes idle. */
  markIdle(now: number): void {
    if (this.state !== 'running') return;
    this.enter('idle', now);
    this.idleSince = now;
  }

  get machineType(): string {
    return this.manifest.machine_type;
  }

  get maxMultiplexing(): number {
    return this.manifest.max_multiplexing;
  }

  /** Ready runners take new work, unless they are draining or just dropped a connection. */
  get ready(): boolean {
    return (this.state === 'idle' || this.state === 'running') && this.suspectSince === null;
  }

  get starting(): boolean {
    return this.state === 'pending' || this.state === 'docker_pull' || this.state === 'setup';
  }

  /** Starts the process; failures end the runner through the same path as a crash before readiness. */
  async start(): Promise<void> {
    const { deps } = this.ctx;
    this.emit('runner_pending');
    this.record();
    let handle: RunnerHandle;
    try {
      const dataDir = await this.acquireData();
      const secrets = (await deps.secrets?.forOwner(this.owner)) ?? {};
      handle = await deps.driver.start(
        buildRunnerSpec(this.ctx, this.rev, this.id, dataDir, secrets),
        {
          onLine: (stream, line) => this.ctx.logs.push(this, stream, line),
          onExit: (code, signal, reason) => this.terminate(code, signal, reason),
          onPhase: (phase, detail) => this.phase(phase, detail),
        },
        this.startAbort.signal,
      );
    } catch (err) {
      this.end ??= {
        category: 'runner_startup_failure',
        reason: this.masked(`could not start: ${(err as Error).message}`),
      };
      this.terminate(null, null);
      return;
    }
    if (this.state === 'terminated') return;
    this.handle = handle;
    this.http = new Pool(handle.url, { connections: Math.max(1, this.maxMultiplexing), pipelining: 1 });
    if (this.stopping) {
      void handle.stop(this.ctx.stopGraceMs);
      return;
    }
    // Drivers report SETUP before start() resolves; one that did not is in setup now.
    if (this.state !== 'setup') this.phase('SETUP');
    else this.record();
  }

  /**
   * A step the driver reached before the runner's process is up: `DOCKER_PULL` while an image is
   * fetched, `SETUP` once the app's process started (machine time and `startup_timeout` count from
   * here; time waiting in `PENDING` for a machine or a GPU does not).
   */
  private phase(phase: RunnerPhase, detail?: string): void {
    if (phase === 'SETUP' && this.meter.setupAt === null) this.beginMetering();
    if (this.stopping || !this.starting || this.state === 'setup') return;
    if (phase === 'PENDING') {
      // The start itself was recorded as runner_pending; a driver's reason for waiting is worth another.
      if (detail !== undefined && this.state === 'pending') this.emit('runner_pending', detail);
      return;
    }
    if (phase === 'DOCKER_PULL') {
      if (this.state === 'pending') this.setState('docker_pull', 'runner_docker_pull', detail);
      return;
    }
    this.setState('setup', 'runner_setup', detail);
  }

  private beginMetering(): void {
    const { id: runnerId, owner, app, machineType, isSurge } = this;
    const base = { runnerId, owner, app, environment: this.manifest.environment, machineType, isSurge };
    this.meter.begin(base, this.ctx.deps.clock());
  }

  /** The owner's DATA_DIR: the plain data root, or a synced cache held until the runner ends. */
  private async acquireData(): Promise<string> {
    const { deps } = this.ctx;
    if (!deps.dataDirs) {
      const dataDir = deps.dataRoot(this.owner);
      await mkdir(dataDir, { recursive: true });
      return dataDir;
    }
    const dataDir = await deps.dataDirs.acquire(this.owner);
    this.dataHeld = true;
    return dataDir;
  }

  /** Text about this runner with its owner's secret values masked. */
  private masked(text: string): string {
    return this.ctx.deps.secrets?.mask(this.owner, text) ?? text;
  }

  /** During setup: fails the start once `startup_timeout` passed, else polls the health path. */
  checkStartup(now: number): void {
    if (this.state !== 'setup' || this.stopping) return;
    const limit = this.manifest.startup_timeout * 1000;
    if (this.meter.setupAt !== null && now - this.meter.setupAt > limit) {
      this.end = {
        category: 'runner_startup_failure',
        reason: `not healthy within startup_timeout (${this.manifest.startup_timeout}s)`,
      };
      this.stopping = true;
      this.enter('terminating', now);
      this.record();
      if (this.handle) this.handle.kill();
      else this.startAbort.abort();
      return;
    }
    if (this.healthPolling || !this.http) return;
    this.healthPolling = true;
    void probeReady(this.http, this.manifest.health_path, this.handle).then((answer) => {
      this.healthPolling = false;
      if (answer === 'foreign')
        this.ctx.deps.logger.warn({ runnerId: this.id, url: this.handle?.url }, FOREIGN);
      if (answer === 'ready' && this.state === 'setup' && !this.stopping) this.becomeReady();
    });
  }

  private becomeReady(): void {
    this.readyAt = this.ctx.deps.clock();
    this.idleSince = this.readyAt;
    this.setState('idle', 'runner_started');
    this.pool.runnerReady(this);
  }

  /** Takes the runner out of rotation after a lost connection; `checkSuspect` drains it if it stays up. */
  markSuspect(now: number): void {
    if (this.state === 'terminated' || this.state === 'draining' || this.stopping) return;
    this.suspectSince ??= now;
  }

  checkSuspect(now: number): void {
    if (this.suspectSince !== null && now - this.suspectSince >= SUSPECT_GRACE_MS) {
      this.drain('connection to runner failed');
    }
  }

  /** Keeps the hints an answer lists; an answer without the header leaves them as they were. */
  noteHints(headers: Record<string, string>): void {
    const value = headers[RUNNER_HINTS_HEADER];
    if (value !== undefined) this.hints = parseRunnerHints(value);
  }

  /**
   * fal's TCP health check after a 500, 502 or 504 answer: the runner stays if its port still accepts a
   * connection, else it is drained and replaced.
   */
  checkTcp(after: string): void {
    if (!this.handle || this.tcpChecking || this.stopping || this.state === 'terminated') return;
    this.tcpChecking = true;
    void probeTcp(this.handle.url).then((ok) => {
      this.tcpChecking = false;
      if (!ok) this.drain(`TCP health check failed after it ${after}`);
    });
  }

  /** Takes no new work; stops once the requests it serves are done. */
  drain(reason: string): void {
    if (this.state === 'draining' || this.state === 'terminated' || this.stopping) return;
    if (this.starting) {
      this.stop(reason);
      return;
    }
    this.drainReason = reason;
    this.setState('draining', 'runner_draining', reason);
    if (this.jobs.size === 0) this.stop(reason);
  }

  /** Called as a request ends: a draining runner with nothing left stops. */
  finishDrain(): void {
    if (this.state === 'draining' && this.jobs.size === 0) this.stop(this.drainReason);
  }

  /** True once a stop or kill was asked for (the process may still be exiting). */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /** SIGTERM, then SIGKILL after the grace period; the exit hook completes the termination. */
  stop(reason: string, graceMs = this.ctx.stopGraceMs): void {
    if (this.stopping || this.state === 'terminated') return;
    this.stopping = true;
    this.end ??= { category: 'runner_finished', reason };
    this.setState('terminating', 'runner_stopping', reason);
    if (this.handle) void this.handle.stop(graceMs);
    else this.startAbort.abort();
  }

  /** Immediate SIGKILL (shutdown deadline passed). */
  kill(reason: string): void {
    if (this.state === 'terminated') return;
    this.end ??= { category: 'runner_finished', reason };
    this.stopping = true;
    if (this.state !== 'terminating') {
      this.enter('terminating');
      this.record();
    }
    if (this.handle) this.handle.kill();
    else this.startAbort.abort();
  }

  private terminate(code: number | null, signal: string | null, why?: string): void {
    if (this.state === 'terminated') return;
    const startupFailed = this.readyAt === null && !this.stopping;
    if (this.end === null) {
      const how = (signal ? `signal ${signal}` : `code ${code}`) + (why ? ` (${why})` : '');
      this.end = startupFailed
        ? { category: 'runner_startup_failure', reason: `exited with ${how} before becoming healthy` }
        : { category: 'runner_failed', reason: `exited with ${how}` };
    }
    const failedStart = this.end.category === 'runner_startup_failure';
    this.endedAt = this.ctx.deps.clock();
    const rows = this.takeMeterRows(this.endedAt);
    if (rows.length > 0) this.ctx.deps.stores.meter.record(rows);
    this.setState('terminated', this.end.category, this.end.reason);
    if (this.end.category !== 'runner_finished') {
      this.ctx.deps.logger.warn(
        { runnerId: this.id, app: `${this.owner}/${this.app}`, reason: this.end.reason },
        this.end.category,
      );
    }
    void this.http?.destroy();
    if (this.dataHeld) {
      this.dataHeld = false;
      this.ctx.deps.dataDirs?.release(this.owner);
    }
    this.pool.runnerEnded(this, failedStart);
  }

  /** Refreshes the sampled usage of its GPUs from the driver (see `RunnerGpuSamples.sample`). */
  sampleGpus(): void {
    this.gpus.sample(this.handle, () => this.state !== 'terminated', this.ctx.deps.clock);
  }

  /** Machine time since the last call, as rows to (re)write; empty before setup. */
  takeMeterRows(until: number): MeterRecord[] {
    return this.meter.take(until);
  }

  /**
   * The minutes not yet metered up to `now`, each with the runner's whole time in that minute (what the
   * next metering would write); nothing is advanced. Empty before setup and once terminated.
   */
  liveMeterRows(now: number): MeterRecord[] {
    return this.state === 'terminated' ? [] : this.meter.peek(now);
  }

  /** The registry row of this runner as of now. */
  row(): RunnerRow {
    return runnerRow(this);
  }

  record(): void {
    this.ctx.deps.stores.runners.upsertRunner(this.row());
  }

  private setState(state: RunnerState, category: EventCategory, reason?: string, now?: number): void {
    const left = this.enter(state, now);
    this.emit(category, reason, left);
    this.record();
  }

  /** Records a runner event (payload: `runnerEventPayload`). */
  private emit(
    category: EventCategory,
    reason?: string,
    left?: { from: RunnerState; seconds: number },
  ): void {
    this.ctx.event(this.owner, this.app, category, runnerEventPayload(this, reason, left));
  }
}
