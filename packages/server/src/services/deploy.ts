import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type App,
  type AppEvent,
  type AppManifest,
  type AppStore,
  type Clock,
  type EventCategory,
  type EventStore,
  type IdSource,
  type KeyStore,
  OWNER_NAME_PATTERN,
  PlatformError,
  parseManifest,
  type Revision,
} from '@hangar/core';
import { BundlePackError, packBundle } from '@hangar/core/bundle';
import type { BundleStore } from '../bundles/bundle-store.js';
import { scalingKeptOnDeploy, withScaling } from './app-ops.js';
import { eventClock } from './event-clock.js';

/** Name of the manifest file inside an app directory. */
export const MANIFEST_FILE = 'hangar.json';

/** Dependencies of the deploy service. */
export interface DeployServiceDeps {
  apps: AppStore;
  events: EventStore;
  keys: KeyStore;
  /** Known machine types: names, or the configured table keyed by name. */
  machineTypes: readonly string[] | Readonly<Record<string, unknown>>;
  clock: Clock;
  ids: IdSource;
  bundles: BundleStore;
  /** Whether this server's runner driver runs image apps (absent: it does not). */
  runsImages?: boolean;
  /** Rolls runners over to the new revision; a rejection marks the revision failed. */
  onRevision: (app: App, rev: Revision) => Promise<void>;
}

/** One deploy request. */
export interface DeployInput {
  owner: string;
  /** `sha256:<hex>` of a bundle the owner uploaded. */
  bundle: string;
  /** The manifest document; when absent, the bundle's `hangar.json` is read. */
  manifest?: unknown;
  message?: string | null;
  annotations?: Record<string, string> | null;
  /** Who deployed (recorded as the revision's `deployed_by` and the events' actor). */
  deployedBy: string | null;
}

/** An operator's deploy of a directory on the server (never reachable with a tenant's key). */
export interface DeployDirInput extends Omit<DeployInput, 'bundle'> {
  /** The app directory; it is packed as `hangar deploy` packs it, so it may be deleted afterwards. */
  dir: string;
}

/** Deploys bundles as revisions. */
export interface DeployService {
  /** Validates, records a revision, rolls runners over to it and returns it with its final status. */
  deploy(input: DeployInput): Promise<Revision>;
  /** Operator action: packs a server directory into a bundle of `owner`, then deploys it. */
  deployDir(input: DeployDirInput): Promise<Revision>;
}

/** Creates the deploy service. */
export function createDeployService(deps: DeployServiceDeps): DeployService {
  const machineTypes = Array.isArray(deps.machineTypes)
    ? [...(deps.machineTypes as readonly string[])]
    : Object.keys(deps.machineTypes);
  const ownerRe = new RegExp(OWNER_NAME_PATTERN);
  const eventAt = eventClock(deps.clock);

  function emit(rev: Revision, category: EventCategory, payload: Record<string, unknown>): void {
    const event: AppEvent = {
      eventId: deps.ids(),
      owner: rev.owner,
      app: rev.app,
      category,
      createdAt: eventAt(),
      payload: rev.deployedBy ? { ...payload, actor: { nickname: rev.deployedBy } } : payload,
    };
    deps.events.append(event);
  }

  async function deploy(input: DeployInput): Promise<Revision> {
    if (!ownerRe.test(input.owner))
      throw new PlatformError('OWNER_INVALID', `Invalid owner name "${input.owner}"`);
    if (!(await deps.bundles.get(input.owner, input.bundle)))
      throw new PlatformError('BUNDLE_NOT_FOUND', `bundle ${input.bundle} was not uploaded by this owner`);
    const dir = await deps.bundles.treeDir(input.bundle);
    const manifest = parseManifest(input.manifest ?? (await readManifest(dir)), machineTypes);
    if (manifest.image !== undefined && !deps.runsImages) {
      throw new PlatformError(
        'RUNNER_IMAGE_UNSUPPORTED',
        `app "${manifest.name}" is an image app and this server cannot run container images (its operator sets runners.container_cli); deploy a bundled app with a command instead`,
      );
    }
    await deps.keys.ensureOwner(input.owner);
    const previous = await deps.apps.getApp(input.owner, manifest.name);
    const rev: Revision = {
      revisionId: deps.ids(),
      owner: input.owner,
      app: manifest.name,
      createdAt: deps.clock(),
      message: input.message ?? null,
      annotations: input.annotations ?? null,
      status: 'deploying',
      deployedBy: input.deployedBy,
      manifest,
      bundle: input.bundle,
      dir,
    };
    await deps.apps.putRevision(rev);
    const ids = { new_application_id: rev.revisionId, old_application_id: previous?.currentRevision ?? null };
    emit(rev, 'deployment_started', ids);
    if (previous && canonical(previous.manifest) !== canonical(manifest)) {
      emit(rev, 'config_changed', configChange(previous.manifest, manifest));
    }
    const app = await deps.apps.getApp(rev.owner, rev.app);
    try {
      if (!app) throw new Error(`app ${rev.owner}/${rev.app} missing after recording its revision`);
      // A deploy ends any rollout and keeps the runtime scaling overrides (not `max_multiplexing`).
      const settings = await deps.apps.getSettings(rev.owner, rev.app);
      const scaling = scalingKeptOnDeploy(settings.scaling);
      if (settings.rollout || Object.keys(scaling).length !== Object.keys(settings.scaling).length)
        await deps.apps.putSettings(rev.owner, rev.app, { scaling, rollout: null });
      await deps.onRevision(app, withScaling(rev, scaling));
    } catch (err) {
      await deps.apps.setRevisionStatus(rev.revisionId, 'failed');
      emit(rev, 'deployment_failed', { ...ids, reason: (err as Error).message });
      throw err;
    }
    await deps.apps.setRevisionStatus(rev.revisionId, 'deployed');
    emit(rev, 'deployment_ended', ids);
    return { ...rev, status: 'deployed' };
  }

  async function deployDir(input: DeployDirInput): Promise<Revision> {
    const { dir, ...rest } = input;
    if (!ownerRe.test(input.owner))
      throw new PlatformError('OWNER_INVALID', `Invalid owner name "${input.owner}"`);
    let packed: Awaited<ReturnType<typeof packBundle>>;
    try {
      packed = await packBundle(dir, { tmpDir: await deps.bundles.workDir() });
    } catch (err) {
      if (err instanceof BundlePackError) throw new PlatformError('BUNDLE_INVALID', err.message);
      throw err;
    }
    try {
      const stored = await deps.bundles.put(input.owner, createReadStream(packed.file));
      return await deploy({ ...rest, bundle: stored.digest });
    } finally {
      await packed.remove();
    }
  }

  return { deploy, deployDir };
}

function configChange(before: AppManifest, after: AppManifest): Record<string, unknown> {
  return {
    old_config: before,
    new_config: after,
    old_app_auth_mode: before.auth_mode,
    new_app_auth_mode: after.auth_mode,
  };
}

async function readManifest(dir: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw new PlatformError('MANIFEST_INVALID', `${MANIFEST_FILE}: not found in the bundle`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PlatformError(
      'MANIFEST_INVALID',
      `${MANIFEST_FILE}: not valid JSON (${(err as Error).message})`,
    );
  }
}

/** JSON with sorted keys, so two equal manifests compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
