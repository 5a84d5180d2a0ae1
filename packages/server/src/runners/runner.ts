import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import {
  type AppManifest,
  type EventCategory,
  falRunnerState,
  foldGpuSample,
  type GpuRequest,
  type GpuUsage,
  type MachineType,
  type MeterRecord,
  type Revision,
  type RunnerArtifact,
  type RunnerGpuSummary,
  type RunnerHandle,
  type RunnerPhase,
  type RunnerRow,
  type RunnerSpec,
  type RunnerState,
  type RunnerStateTimes,
} from '@hangar/core';
import { Pool } from 'undici';
import type { SupervisorContext } from './context.js';
import type { Job } from './dispatch/job.js';
import { type MeterBase, meterRows } from './metering.js';
import { parseRunnerHints, RUNNER_HINTS_HEADER } from './runner-hints.js';

const NO_HINTS: ReadonlySet<string> = new Set();

/** Per-poll limit for a health check answer. */
const HEALTH_TIMEOUT_MS = 2000;

/**
 * How long a runner that dropped a connection stays out of rotation before it is drained. A crashing
 * runner usually exits within this time and is then recorded as failed rather than as stopped by us.
 */
const SUSPECT_GRACE_MS = 1000;

/** The GPUs a runner of this manifest needs: its `gpus`, else its machine type's; null for none. */
export function gpuRequestOf(manifest: AppManifest, type: MachineType | undefined): GpuRequest | null {
  const count = manifest.gpus ?? type?.gpus ?? 0;
  return count > 0 ? { count, product: type?.gpuProduct ?? null } : null;
}

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
  private current: RunnerState = 'pending';
  /** When the runner entered its current state. */
  stateSince: number;
  /** Seconds per state left so far, and the lifecycle timeline. */
  readonly times: RunnerStateTimes;
  handle: RunnerHandle | null = null;
  /** Connections to the runner, one per multiplexing slot. */
  http: Pool | null = null;
  readonly jobs = new Set<Job>();
  readonly owner: string;
  readonly app: string;
  readonly revisionId: string;
  readonly manifest: AppManifest;
  readonly createdAt: number;
  setupAt: number | null = null;
  readyAt: number | null = null;
  idleSince = 0;
  endedAt: number | null = null;
  meteredUntil = 0;
  /** When the runner last dropped a connection mid-request; it takes no work while set. */
  suspectSince: number | null = null;
  /** What the app last reported in `x-fal-runner-hints` (the model or LoRA it has loaded, …). */
  hints: ReadonlySet<string> = NO_HINTS;
  /** The runner's GPUs as last sampled (empty: none, or the driver cannot tell). */
  gpuUsage: readonly GpuUsage[] = [];
  /** Every sample of its GPUs folded per card (last, peak memory, mean utilisation): runner history. */
  gpuHistory: RunnerGpuSummary[] = [];
  private tcpChecking = false;
  private meterBase: MeterBase | null = null;
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
    this.stateSince = this.createdAt;
    this.times = { seconds: {}, timeline: [{ state: 'pending', at: this.createdAt }] };
  }

  get state(): RunnerState {
    return this.current;
  }

  /** Seconds in the current state as of `now`. */
  secondsInState(now: number): number {
    return Math.max(0, now - this.stateSince) / 1000;
  }

  /**
   * Enters `state`: the time spent in the one left is added to its total, reported to the pool and
   * returned (seconds). Going between idle and running adds no timeline entry.
   */
  private enter(state: RunnerState, now = this.ctx.deps.clock()): { from: RunnerState; seconds: number } {
    const from = this.current;
    const seconds = this.secondsInState(now);
    const total = (this.times.seconds[from] ?? 0) + seconds;
    this.times.seconds[from] = Math.round(total * 1000) / 1000;
    this.pool.stateLeft(from, seconds);
    this.current = state;
    this.stateSince = now;
    const flip = (from === 'idle' || from === 'running') && (state === 'idle' || state === 'running');
    if (!flip) this.times.timeline.push({ state, at: now });
    return { from, seconds };
  }

  /** A request started on the runner: an idle runner becomes running. */
  markBusy(now: number): void {
    if (this.current === 'idle') this.enter('running', now);
  }

  /** The runner's last request ended: a running runner becomes idle. */
  markIdle(now: number): void {
    if (this.current !== 'running') return;
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
        this.spec(dataDir, secrets),
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
    if (phase === 'SETUP' && this.setupAt === null) this.beginMetering();
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
    this.setupAt = this.ctx.deps.clock();
    this.meteredUntil = this.setupAt;
    this.meterBase = {
      runnerId: this.id,
      owner: this.owner,
      app: this.app,
      environment: this.manifest.environment,
      machineType: this.machineType,
      isSurge: this.isSurge,
    };
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

  private spec(dataDir: string, secrets: Record<string, string>): RunnerSpec {
    const type = this.ctx.deps.machineTypes[this.machineType];
    return {
      runnerId: this.id,
      owner: this.owner,
      app: this.app,
      revisionId: this.revisionId,
      machineType: this.machineType,
      artifact: this.artifact(),
      dataDir,
      env: {
        ...this.manifest.env,
        HANGAR_APP: `${this.owner}/${this.app}`,
        HANGAR_RUNNER_ID: this.id,
      },
      resources: {
        cpu: type?.cpu ?? null,
        memoryMb: type?.memoryMb ?? null,
        gpus: gpuRequestOf(this.manifest, type),
      },
      healthPath: this.manifest.health_path,
      labels: {
        owner: this.owner,
        app: this.app,
        revisionId: this.revisionId,
        runnerId: this.id,
        node: this.ctx.deps.nodeId ?? 'local',
      },
      placement: type?.placement ?? null,
      secrets,
    };
  }

  /** An image app runs its image (the bundle only carried its manifest); any other app its bundle. */
  private artifact(): RunnerArtifact {
    const { image, command } = this.manifest;
    if (image !== undefined) return { kind: 'image', image, command: command ?? null };
    return { kind: 'bundle', digest: this.rev.bundle, dir: this.rev.dir, command: command ?? [] };
  }

  /** During setup: fails the start once `startup_timeout` passed, else polls the health path. */
  checkStartup(now: number): void {
    if (this.state !== 'setup' || this.stopping) return;
    const limit = this.manifest.startup_timeout * 1000;
    if (this.setupAt !== null && now - this.setupAt > limit) {
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
    this.http
      .request({
        path: this.manifest.health_path,
        method: 'GET',
        headersTimeout: HEALTH_TIMEOUT_MS,
        bodyTimeout: HEALTH_TIMEOUT_MS,
      })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode === 200 && this.state === 'setup' && !this.stopping) this.becomeReady();
      })
      .catch(() => {})
      .finally(() => {
        this.healthPolling = false;
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
    const url = new URL(this.handle.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      this.tcpChecking = false;
      if (!ok) this.drain(`TCP health check failed after it ${after}`);
    };
    socket.setTimeout(HEALTH_TIMEOUT_MS, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
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

  /** Refreshes `gpuUsage` from the driver, when it samples GPUs; a failed sample keeps the last one. */
  sampleGpus(): void {
    const sample = this.handle?.sampleGpus;
    if (!sample || this.state === 'terminated') return;
    sample
      .call(this.handle)
      .then((usage) => {
        if (this.state === 'terminated') return;
        this.gpuUsage = usage;
        // Recorded with the next registry write (metering, a state change, the end).
        if (usage.length > 0) this.gpuHistory = foldGpuSample(this.gpuHistory, usage, this.ctx.deps.clock());
      })
      .catch(() => {});
  }

  /** Machine time since the last call, as rows to (re)write; empty before setup. */
  takeMeterRows(until: number): MeterRecord[] {
    if (this.meterBase === null || this.setupAt === null) return [];
    const rows = meterRows(this.meterBase, this.setupAt, this.meteredUntil, until);
    this.meteredUntil = until;
    return rows;
  }

  /**
   * The minutes not yet metered up to `now`, each with the runner's whole time in that minute (what the
   * next metering would write); nothing is advanced. Empty before setup and once terminated.
   */
  liveMeterRows(now: number): MeterRecord[] {
    if (this.meterBase === null || this.setupAt === null || this.state === 'terminated') return [];
    return meterRows(this.meterBase, this.setupAt, this.meteredUntil, now);
  }

  /** The registry row of this runner as of now. */
  row(): RunnerRow {
    return {
      runnerId: this.id,
      owner: this.owner,
      app: this.app,
      revisionId: this.revisionId,
      machineType: this.machineType,
      ref: this.handle?.ref || null,
      state: this.state,
      startedAt: this.setupAt ?? this.createdAt,
      endedAt: this.endedAt,
      meteredUntil: this.meteredUntil || this.createdAt,
      stateSince: this.stateSince,
      times: { seconds: { ...this.times.seconds }, timeline: [...this.times.timeline] },
      ...(this.gpuHistory.length > 0 ? { gpus: this.gpuHistory.map((g) => ({ ...g })) } : {}),
    };
  }

  record(): void {
    this.ctx.deps.stores.runners.upsertRunner(this.row());
  }

  private setState(state: RunnerState, category: EventCategory, reason?: string, now?: number): void {
    const left = this.enter(state, now);
    this.emit(category, reason, left);
    this.record();
  }

  /**
   * Records a runner event. `state` is fal's name of the state entered; `previous_state` and
   * `previous_state_seconds` (Hangar's, kept in the stored payload) say how long the one left lasted.
   */
  private emit(
    category: EventCategory,
    reason?: string,
    left?: { from: RunnerState; seconds: number },
  ): void {
    const payload: Record<string, unknown> = {
      job_id: this.id,
      machine_type: this.machineType,
      state: falRunnerState(this.state),
    };
    if (reason !== undefined) payload.reason = reason;
    if (left !== undefined) {
      payload.previous_state = falRunnerState(left.from);
      payload.previous_state_seconds = Math.round(left.seconds * 1000) / 1000;
    }
    this.ctx.event(this.owner, this.app, category, payload);
  }
}
