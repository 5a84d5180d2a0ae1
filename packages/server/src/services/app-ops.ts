import {
  type App,
  type AppManifest,
  type AppSettings,
  type AppStore,
  type Clock,
  type EventCategory,
  type EventStore,
  type IdSource,
  type LiveRunner,
  PlatformError,
  type Revision,
  type RunnerRegistry,
  type RunnerRow,
  type ScalingOverrides,
} from '@hangar/core';
import type { Supervisor } from '../runners/supervisor.js';
import { eventClock } from './event-clock.js';

/** The supervisor calls app operations make. */
export type AppOpsRunners = Pick<
  Supervisor,
  'deploy' | 'remove' | 'rescale' | 'setRollout' | 'runners' | 'stopRunner' | 'stats'
>;

/** Dependencies of the app operations service. */
export interface AppOpsDeps {
  apps: AppStore;
  events: EventStore;
  runners: AppOpsRunners;
  clock: Clock;
  ids: IdSource;
  /** The runners registry, for runners that already ended (`GET …/runners/{id}`). */
  registry: Pick<RunnerRegistry, 'findRunner'>;
  /** The revision with its code directory present again (a bundle's tree is unpacked if it went missing). */
  materialize: (rev: Revision) => Promise<Revision>;
}

/** Who asked for an operation (recorded as the events' actor). */
export interface Actor {
  owner: string;
  nickname: string;
}

/** The manifest a revision runs with once the app's scaling overrides are applied. */
export function withScaling(rev: Revision, scaling: ScalingOverrides): Revision {
  return { ...rev, manifest: { ...rev.manifest, ...scaling } };
}

/** Scaling fields a redeploy keeps (fal: runtime-tunable settings persist; code-specific ones reset). */
export function scalingKeptOnDeploy(scaling: ScalingOverrides): ScalingOverrides {
  const { max_multiplexing: _code, startup_timeout: _startup, ...kept } = scaling;
  return kept;
}

/** Scaling fields of a manifest, as `hangar apps scale` reports them. */
export function scalingOf(m: AppManifest): Required<ScalingOverrides> {
  return {
    min_concurrency: m.min_concurrency,
    max_concurrency: m.max_concurrency,
    keep_alive: m.keep_alive,
    max_multiplexing: m.max_multiplexing,
    scaling_delay: m.scaling_delay ?? 0,
    concurrency_buffer: m.concurrency_buffer ?? 0,
    startup_timeout: m.startup_timeout,
  };
}

/** Creates the app operations service: scale, switch revision, rollout, delete, runners. */
export function createAppOps(deps: AppOpsDeps) {
  const eventAt = eventClock(deps.clock);
  function emit(actor: Actor | null, owner: string, app: string, category: EventCategory, payload: object) {
    deps.events.append({
      eventId: deps.ids(),
      owner,
      app,
      category,
      createdAt: eventAt(),
      payload: actor ? { ...payload, actor: { nickname: actor.nickname } } : { ...payload },
    });
  }

  async function appOf(owner: string, name: string): Promise<App> {
    const app = await deps.apps.getApp(owner, name);
    if (!app) throw new PlatformError('APP_NOT_FOUND', `App ${owner}/${name} not found`);
    return app;
  }

  async function revisionOf(owner: string, name: string, revisionId: string): Promise<Revision> {
    const rev = (await deps.apps.listRevisions(owner, name)).find((r) => r.revisionId === revisionId);
    if (!rev)
      throw new PlatformError('REVISION_NOT_FOUND', `Revision ${revisionId} not found in ${owner}/${name}`);
    return rev;
  }

  async function runRevision(app: App, rev: Revision, scaling: ScalingOverrides): Promise<void> {
    const ready = await deps.materialize(rev);
    await deps.runners.deploy({ ...app, dir: ready.dir }, withScaling(ready, scaling));
  }

  /** Starts a recorded app after a restart with its scaling overrides and rollout. */
  async function restore(app: App): Promise<void> {
    const settings = await deps.apps.getSettings(app.owner, app.name);
    await runRevision(app, await revisionOf(app.owner, app.name, app.currentRevision), settings.scaling);
    const r = settings.rollout;
    if (r) {
      const target = await deps.materialize(await revisionOf(app.owner, app.name, r.revisionId));
      deps.runners.setRollout(app.owner, app.name, withScaling(target, settings.scaling), r.percent);
    }
  }

  /**
   * Applies settings changed through another node of a cluster to an app this node already runs at its
   * current revision: the scaling overrides of every serving revision, and the rollout (set, moved or ended).
   */
  async function follow(app: App, settings: AppSettings): Promise<void> {
    deps.runners.rescale(app.owner, app.name, app.currentRevision, { ...app.manifest, ...settings.scaling });
    const r = settings.rollout;
    if (!r) return deps.runners.setRollout(app.owner, app.name, null, 0);
    const target = await deps.materialize(await revisionOf(app.owner, app.name, r.revisionId));
    deps.runners.setRollout(app.owner, app.name, withScaling(target, settings.scaling), r.percent);
  }

  async function scale(owner: string, name: string, change: ScalingOverrides, actor: Actor) {
    const app = await appOf(owner, name);
    const settings = await deps.apps.getSettings(owner, name);
    const before = { ...scalingOf(app.manifest), ...settings.scaling };
    const after = { ...before, ...change };
    if (after.max_concurrency < after.min_concurrency)
      throw new PlatformError(
        'REQUEST_INVALID',
        `max_concurrency (${after.max_concurrency}) must be >= min_concurrency (${after.min_concurrency})`,
      );
    const scaling = { ...settings.scaling, ...change };
    await deps.apps.putSettings(owner, name, { ...settings, scaling });
    deps.runners.rescale(owner, name, app.currentRevision, { ...app.manifest, ...scaling });
    if (settings.rollout) {
      const target = await revisionOf(owner, name, settings.rollout.revisionId);
      deps.runners.rescale(owner, name, target.revisionId, { ...target.manifest, ...scaling });
    }
    emit(actor, owner, name, 'config_changed', { old_config: before, new_config: after, reason: 'scaled' });
    return { endpoint_id: `${owner}/${name}`, ...after, overrides: scaling };
  }

  async function setRevision(owner: string, name: string, revisionId: string, actor: Actor, reason: string) {
    const app = await appOf(owner, name);
    const rev = await revisionOf(owner, name, revisionId);
    const settings = await deps.apps.getSettings(owner, name);
    const previous = app.currentRevision;
    const ids = { new_application_id: rev.revisionId, old_application_id: previous, reason };
    if (previous !== rev.revisionId || settings.rollout) {
      emit(actor, owner, name, 'deployment_started', ids);
      await deps.apps.setCurrentRevision(owner, name, rev.revisionId, deps.clock());
      await deps.apps.putSettings(owner, name, { ...settings, rollout: null });
      if (previous === rev.revisionId) deps.runners.setRollout(owner, name, null, 0);
      else await runRevision(app, rev, settings.scaling);
      emit(actor, owner, name, 'deployment_ended', ids);
    }
    return {
      endpoint_id: `${owner}/${name}`,
      revision_id: rev.revisionId,
      previous_revision_id: previous,
      draining_runners: deps.runners
        .runners(owner, name)
        .filter((r) => r.revisionId !== rev.revisionId)
        .map((r) => r.runnerId),
    };
  }

  function rolloutView(owner: string, name: string, current: string, settings: AppSettings) {
    const r = settings.rollout;
    return {
      endpoint_id: `${owner}/${name}`,
      current_revision_id: current,
      revision_id: r?.revisionId ?? null,
      percent: r?.percent ?? 0,
      started_at: r ? new Date(r.startedAt).toISOString() : null,
    };
  }

  async function startRollout(
    owner: string,
    name: string,
    revisionId: string,
    percent: number,
    actor: Actor,
  ) {
    const app = await appOf(owner, name);
    const rev = await revisionOf(owner, name, revisionId);
    if (rev.revisionId === app.currentRevision)
      throw new PlatformError('REQUEST_INVALID', `Revision ${revisionId} is already the current revision`);
    const settings = await deps.apps.getSettings(owner, name);
    const same = settings.rollout?.revisionId === rev.revisionId;
    const rollout = { revisionId, percent, startedAt: same ? settings.rollout!.startedAt : deps.clock() };
    const next = { ...settings, rollout };
    await deps.apps.putSettings(owner, name, next);
    const ready = await deps.materialize(rev);
    deps.runners.setRollout(owner, name, withScaling(ready, settings.scaling), percent);
    emit(actor, owner, name, 'deployment_rolling_started', {
      new_application_id: revisionId,
      old_application_id: app.currentRevision,
      reason: `rollout at ${percent}%`,
    });
    return rolloutView(owner, name, app.currentRevision, next);
  }

  async function activeRollout(owner: string, name: string) {
    const app = await appOf(owner, name);
    const settings = await deps.apps.getSettings(owner, name);
    if (!settings.rollout)
      throw new PlatformError('ROLLOUT_NOT_ACTIVE', `No rollout is in progress on ${owner}/${name}`);
    return { app, settings, rollout: settings.rollout };
  }

  async function promoteRollout(owner: string, name: string, actor: Actor) {
    const { app, rollout } = await activeRollout(owner, name);
    const out = await setRevision(owner, name, rollout.revisionId, actor, 'rollout promoted');
    emit(actor, owner, name, 'deployment_rolling_ended', {
      new_application_id: rollout.revisionId,
      old_application_id: app.currentRevision,
      reason: 'rollout promoted',
    });
    return out;
  }

  async function abortRollout(owner: string, name: string, actor: Actor) {
    const { app, settings, rollout } = await activeRollout(owner, name);
    const next = { ...settings, rollout: null };
    await deps.apps.putSettings(owner, name, next);
    deps.runners.setRollout(owner, name, null, 0);
    emit(actor, owner, name, 'deployment_rolling_failed', {
      new_application_id: rollout.revisionId,
      old_application_id: app.currentRevision,
      reason: 'rollout aborted',
    });
    return rolloutView(owner, name, app.currentRevision, next);
  }

  async function getRollout(owner: string, name: string) {
    const app = await appOf(owner, name);
    return rolloutView(owner, name, app.currentRevision, await deps.apps.getSettings(owner, name));
  }

  async function deleteRevision(owner: string, name: string, revisionId: string, actor: Actor) {
    const app = await appOf(owner, name);
    await revisionOf(owner, name, revisionId);
    const { rollout } = await deps.apps.getSettings(owner, name);
    if (revisionId === app.currentRevision || revisionId === rollout?.revisionId)
      throw new PlatformError(
        'REVISION_LIVE',
        `Revision ${revisionId} serves traffic on ${owner}/${name}; switch to another revision or end the rollout first`,
      );
    await deps.apps.deleteRevision(owner, name, revisionId);
    emit(actor, owner, name, 'config_changed', {
      old_application_id: revisionId,
      reason: 'revision deleted',
    });
    return { endpoint_id: `${owner}/${name}`, revision_id: revisionId, deleted: true };
  }

  async function deleteApp(owner: string, name: string, actor: Actor) {
    const app = await appOf(owner, name);
    const queued = deps.runners.stats(owner).find((s) => s.app === name)?.queueSize ?? 0;
    const draining = deps.runners.runners(owner, name).map((r) => r.runnerId);
    // Queued requests are answered (APP_DELETED) synchronously; runners drain in the background.
    void deps.runners.remove(owner, name);
    await deps.apps.deleteApp(owner, name);
    emit(actor, owner, name, 'config_changed', {
      old_application_id: app.currentRevision,
      reason: 'app deleted',
    });
    return {
      endpoint_id: `${owner}/${name}`,
      deleted: true,
      cancelled_requests: queued,
      draining_runners: draining,
    };
  }

  async function listRunners(owner: string, name: string): Promise<LiveRunner[]> {
    await appOf(owner, name);
    return deps.runners.runners(owner, name);
  }

  /** One runner of the app: live from the pool, else as the registry last recorded it; null if unknown. */
  async function getRunner(owner: string, name: string, runnerId: string): Promise<LiveRunner | null> {
    await appOf(owner, name);
    const live = deps.runners.runners(owner, name).find((r) => r.runnerId === runnerId);
    if (live) return live;
    const row = await deps.registry.findRunner(owner, name, runnerId);
    if (!row) return null;
    const rev = (await deps.apps.listRevisions(owner, name)).find((r) => r.revisionId === row.revisionId);
    return liveRunnerOfRow(row, rev?.manifest.max_multiplexing ?? 1);
  }

  async function stopRunner(
    owner: string,
    name: string,
    runnerId: string,
    how: 'stop' | 'kill',
    actor: Actor,
  ) {
    await appOf(owner, name);
    const reason = `${how === 'kill' ? 'killed' : 'stopped'} by ${actor.nickname}`;
    if (!deps.runners.stopRunner(owner, name, runnerId, how, reason))
      throw new PlatformError('RUNNER_NOT_FOUND', `No live runner ${runnerId} in ${owner}/${name}`);
    return deps.runners.runners(owner, name).find((r) => r.runnerId === runnerId) ?? null;
  }

  return {
    restore,
    follow,
    scale,
    setRevision: (owner: string, name: string, revisionId: string, actor: Actor) =>
      setRevision(owner, name, revisionId, actor, 'set-rev'),
    startRollout,
    promoteRollout,
    abortRollout,
    getRollout,
    deleteRevision,
    deleteApp,
    listRunners,
    getRunner,
    stopRunner,
  };
}

/** The app operations service `createAppOps` returns. */
export type AppOps = ReturnType<typeof createAppOps>;

/** A registry row as the runners operations report it (a runner not in this server's pool). */
function liveRunnerOfRow(row: RunnerRow, maxMultiplexing: number): LiveRunner {
  const ready = row.times.timeline.find((t) => t.state === 'idle' || t.state === 'running');
  return {
    runnerId: row.runnerId,
    revisionId: row.revisionId,
    machineType: row.machineType,
    state: row.state as LiveRunner['state'],
    createdAt: row.times.timeline[0]?.at ?? row.startedAt,
    readyAt: ready?.at ?? null,
    endedAt: row.endedAt,
    inFlight: 0,
    maxMultiplexing,
    stopping: row.endedAt === null && (row.state === 'terminating' || row.state === 'draining'),
    stateSince: row.stateSince,
    times: row.times,
    gpus: row.gpus ?? [],
  };
}
