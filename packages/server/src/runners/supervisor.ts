import {
  type App,
  type AppManifest,
  type Dispatcher,
  type DispatchRequest,
  type DispatchResult,
  type LiveRunner,
  type MeterRecord,
  PlatformError,
  type Revision,
} from '@hangar/core';
import { AppPool } from './app-pool.js';
import type { SupervisorContext, SupervisorDeps } from './context.js';
import { sendCancel } from './dispatch/forward.js';
import { Job } from './dispatch/job.js';
import { cancelledResult, errorResult } from './dispatch/results.js';
import { LogSink } from './log-sink.js';
import { abortPoolRollout, listPoolRunners, rescalePool, setPoolRollout } from './pool-ops.js';
import { recoverOrphans } from './recover.js';
import { startTimers } from './timers.js';

/** The runner pool: dispatches requests to app runners and manages their lifecycle. */
export interface Supervisor extends Dispatcher {
  /** Starts the app, or rolls it over to `rev`; resolves once the change is under way (not when runners are ready). */
  deploy(app: App, rev: Revision): Promise<void>;
  /** Fails the app's queued requests (404), drains its runners and forgets it once they stopped. */
  remove(owner: string, app: string): Promise<void>;
  /** Applies scaling settings of a serving revision to the live pool (no redeploy). */
  rescale(owner: string, app: string, revisionId: string, manifest: AppManifest): void;
  /** Sends `percent` of the app's requests to `rev` (null: ends the rollout; the target's runners drain). */
  setRollout(owner: string, app: string, rev: Revision | null, percent: number): void;
  /** The app's runners that have not terminated. */
  runners(owner: string, app: string): LiveRunner[];
  /** Drains one runner (`kill`: SIGKILL now); false when the app has no such live runner. */
  stopRunner(owner: string, app: string, runnerId: string, how: 'stop' | 'kill', reason: string): boolean;
  /**
   * The owner's running runners' machine time not yet metered, up to `now`: one row per runner and
   * minute holding its whole time in that minute, as the next metering will write it.
   */
  liveMeter(owner: string, now: number): MeterRecord[];
  /** Requests a ready runner of the app's serving revisions could start now (none wait locally); 0 for an unknown app. */
  freeSlots(owner: string, app: string): number;
  /** How many requests this node accepted wait in a cluster queue for the app: runners start for them too. */
  setClusterQueued(owner: string, app: string, count: number): void;
  /**
   * Reaps runners a previous server process left behind and closes their records (at `previousEnd`, the
   * earlier incarnation's last heartbeat, when a cluster knows it; else where they were last metered).
   */
  recover(previousEnd?: number | null): Promise<void>;
  /**
   * Stops taking work: queued requests are rejected with `SERVER_SHUTTING_DOWN` (left unfinished for the
   * next process), in-flight ones may finish for `deadlineMs`, then every runner is stopped and
   * metering, samples and logs are flushed.
   */
  close(deadlineMs: number): Promise<void>;
}

/** How long killed runners get to report their exit after the shutdown deadline. */
const KILL_WAIT_MS = 2000;

/** Creates the runner supervisor over a driver and the telemetry stores. */
export function createSupervisor(deps: SupervisorDeps): Supervisor {
  const pools = new Map<string, AppPool>();
  const jobs = new Map<string, Job>();
  const ctx: SupervisorContext = {
    deps,
    maxAttempts: deps.maxAttempts ?? 10,
    stopGraceMs: deps.stopGraceMs ?? 5000,
    backoffBaseMs: deps.backoffBaseMs ?? 1000,
    backoffMaxMs: deps.backoffMaxMs ?? 60_000,
    logs: new LogSink(deps.stores.logs, deps.logBus, deps.clock, jobs, deps.secrets?.mask),
    jobs,
    closing: false,
    liveOfType(machineType) {
      let n = 0;
      for (const pool of pools.values())
        for (const r of pool.runners) if (r.machineType === machineType && r.state !== 'terminated') n++;
      return n;
    },
    event(owner, app, category, payload) {
      deps.stores.events.append({
        eventId: deps.ids(),
        owner,
        app,
        category,
        createdAt: deps.clock(),
        payload,
      });
    },
  };
  const timers = startTimers(ctx, pools);
  let closed: Promise<void> | null = null;

  function dispatch(req: DispatchRequest): Promise<DispatchResult> {
    if (ctx.closing) return Promise.reject(new PlatformError('SERVER_SHUTTING_DOWN'));
    const pool = pools.get(`${req.owner}/${req.app}`);
    if (pool === undefined || pool.removed) return Promise.resolve(unknownApp(req));
    const job = new Job(req, deps.clock(), pool, jobs);
    const promise = job.promise();
    jobs.set(req.requestId, job);
    pool.submit(job);
    return promise;
  }

  function unknownApp(req: DispatchRequest): DispatchResult {
    const summary = { req, startedAt: null, coldStart: false, coldBootMs: null, attempts: 0 };
    return errorResult(summary, 'APP_NOT_FOUND', deps.clock(), null, null);
  }

  async function remove(owner: string, app: string): Promise<void> {
    const key = `${owner}/${app}`;
    const pool = pools.get(key);
    if (!pool) return;
    pool.removed = true;
    const now = deps.clock();
    for (const job of pool.queue.drainAll()) job.settle(errorResult(job, 'APP_DELETED', now, null, null));
    await pool.drainAll('app removed');
    if (pools.get(key) === pool) pools.delete(key);
  }

  async function close(deadlineMs: number): Promise<void> {
    ctx.closing = true;
    for (const pool of pools.values()) pool.abandonQueued();
    const drained = Promise.all([...pools.values()].map((p) => p.drainAll('server shutting down')));
    if (!(await settlesWithin(drained, deadlineMs))) {
      for (const pool of pools.values()) for (const r of pool.runners) r.kill('shutdown deadline passed');
      if (!(await settlesWithin(drained, KILL_WAIT_MS)))
        deps.logger.warn({}, 'runners did not exit after SIGKILL');
    }
    timers.stop();
    timers.flushAll();
  }

  return {
    dispatch,
    cancelQueued(requestId) {
      const job = jobs.get(requestId);
      if (job === undefined || job.state !== 'queued') return false;
      job.pool.queue.remove(job);
      job.settle(cancelledResult(job, deps.clock()));
      return true;
    },
    async cancelRunning(requestId) {
      const job = jobs.get(requestId);
      const runner = job?.runner;
      if (job === undefined || job.state !== 'running' || !runner) return false;
      await sendCancel(runner, job);
      return true;
    },
    flushQueue(owner, app) {
      const pool = pools.get(`${owner}/${app}`);
      if (!pool) return [];
      return pool.flush(deps.clock()).map((job) => job.req.requestId);
    },
    queuePosition(requestId) {
      const job = jobs.get(requestId);
      if (job === undefined || job.state !== 'queued') return null;
      const i = job.pool.queue.position(job);
      return i === -1 ? null : i;
    },
    liveMeter(owner, now) {
      const rows: MeterRecord[] = [];
      for (const pool of pools.values()) {
        if (pool.owner !== owner) continue;
        for (const runner of pool.runners) rows.push(...runner.liveMeterRows(now));
      }
      return rows;
    },
    stats(owner) {
      const out = [];
      for (const pool of pools.values()) {
        if (owner !== undefined && pool.owner !== owner) continue;
        const type = pool.rev.manifest.machine_type;
        out.push(pool.stats(deps.machineTypes[type]?.gpuLabel ?? type));
      }
      return out;
    },
    async deploy(app, rev) {
      if (ctx.closing) throw new PlatformError('SERVER_SHUTTING_DOWN');
      const key = `${app.owner}/${app.name}`;
      const existing = pools.get(key);
      if (existing && !existing.removed) {
        existing.deploy(rev);
        return;
      }
      const pool = new AppPool(ctx, rev);
      pools.set(key, pool);
      pool.scale(deps.clock());
    },
    remove,
    rescale(owner, app, revisionId, manifest) {
      const pool = pools.get(`${owner}/${app}`);
      if (pool && !pool.removed) rescalePool(pool, revisionId, manifest, deps.clock());
    },
    setRollout(owner, app, rev, percent) {
      const pool = pools.get(`${owner}/${app}`);
      if (!pool || pool.removed) return;
      if (rev === null) abortPoolRollout(pool);
      else setPoolRollout(pool, rev, percent, deps.clock());
    },
    runners(owner, app) {
      const pool = pools.get(`${owner}/${app}`);
      return pool ? listPoolRunners(pool) : [];
    },
    stopRunner(owner, app, runnerId, how, reason) {
      const runner = pools.get(`${owner}/${app}`)?.runners.find((r) => r.id === runnerId);
      if (!runner || runner.state === 'terminated') return false;
      if (how === 'kill') runner.kill(reason);
      else runner.drain(reason);
      return true;
    },
    freeSlots(owner, app) {
      const pool = pools.get(`${owner}/${app}`);
      return pool && !pool.removed && !ctx.closing ? pool.freeSlots() : 0;
    },
    setClusterQueued(owner, app, count) {
      const pool = pools.get(`${owner}/${app}`);
      if (!pool || pool.clusterQueued === count) return;
      pool.clusterQueued = count;
      if (count > 0) pool.scale(deps.clock());
    },
    recover: (previousEnd) => recoverOrphans(ctx, pools, previousEnd ?? null),
    close(deadlineMs) {
      closed ??= close(deadlineMs);
      return closed;
    },
  };
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
