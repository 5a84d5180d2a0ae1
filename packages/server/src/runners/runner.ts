import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import type {
  AppManifest,
  EventCategory,
  GpuRequest,
  GpuUsage,
  MachineType,
  MeterRecord,
  Revision,
  RunnerArtifact,
  RunnerHandle,
  RunnerPhase,
  RunnerRow,
  RunnerSpec,
  RunnerState,
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
}

interface EndEvent {
  category: EventCategory;
  reason: string;
}

/** One runner process of an app revision, from `pending` to `terminated`. */
export class Runner {
  state: RunnerState = 'pending';
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
    return this.state === 'pending' || this.state === 'setup';
  }

  /** Starts the process; failures end the runner through the same path as a crash before readiness. */
  async start(): Promise<void> {
    const { deps } = this.ctx;
    this.emit('runner_pending');
    this.record();
    let handle: RunnerHandle;
    try {
      const dataDir = await this.acquireData();
      handle = await deps.driver.start(
        this.spec(dataDir),
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
        reason: `could not start: ${(err as Error).message}`,
      };
      this.terminate(null, null);
      return;
    }
    if (this.state === 'terminated') return;
    this.handle = handle;
    this.http = new Pool(handle.url, { connections: Math.max(1, this.maxMultiplexing), pipelining: 1 });
    // Drivers report SETUP before start() resolves; one that did not is in setup now.
    if (this.state === 'pending') this.phase('SETUP');
    else this.record();
    if (this.stopping) void handle.stop(this.ctx.stopGraceMs);
  }

  /** A step the driver reached before the runner's process is up. */
  private phase(phase: RunnerPhase, detail?: string): void {
    if (this.state !== 'pending') return;
    if (phase === 'PENDING') {
      // The start itself was recorded as runner_pending; a driver's reason for waiting is worth another.
      if (detail !== undefined) this.emit('runner_pending', detail);
      return;
    }
    if (phase === 'DOCKER_PULL') {
      this.emit('runner_docker_pull', detail);
      return;
    }
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
    this.setState('setup', 'runner_setup', detail);
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

  private spec(dataDir: string): RunnerSpec {
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
    this.emit('runner_stopping', reason);
    if (this.handle) void this.handle.stop(graceMs);
    else this.startAbort.abort();
  }

  /** Immediate SIGKILL (shutdown deadline passed). */
  kill(reason: string): void {
    if (this.state === 'terminated') return;
    this.end ??= { category: 'runner_finished', reason };
    this.stopping = true;
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
        if (this.state !== 'terminated') this.gpuUsage = usage;
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
    };
  }

  record(): void {
    this.ctx.deps.stores.runners.upsertRunner(this.row());
  }

  private setState(state: RunnerState, category: EventCategory, reason?: string): void {
    this.state = state;
    this.emit(category, reason);
    this.record();
  }

  private emit(category: EventCategory, reason?: string): void {
    const payload: Record<string, unknown> = {
      job_id: this.id,
      machine_type: this.machineType,
      state: this.state,
    };
    if (reason !== undefined) payload.reason = reason;
    this.ctx.event(this.owner, this.app, category, payload);
  }
}
