import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
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
  /** Rolls runners over to the new revision; a rejection marks the revision failed. */
  onRevision: (app: App, rev: Revision) => Promise<void>;
}

/** One deploy request. */
export interface DeployInput {
  owner: string;
  /** Absolute path of the app directory on the server. */
  dir: string;
  /** The manifest document; when absent, `dir/hangar.json` is read. */
  manifest?: unknown;
  message?: string | null;
  annotations?: Record<string, string> | null;
  /** Who deployed (recorded as the revision's `deployed_by` and the events' actor). */
  deployedBy: string | null;
}

/** Deploys app directories as revisions. */
export interface DeployService {
  /** Validates, records a revision, rolls runners over to it and returns it with its final status. */
  deploy(input: DeployInput): Promise<Revision>;
}

/** Creates the deploy service. */
export function createDeployService(deps: DeployServiceDeps): DeployService {
  const machineTypes = Array.isArray(deps.machineTypes)
    ? [...(deps.machineTypes as readonly string[])]
    : Object.keys(deps.machineTypes);
  const ownerRe = new RegExp(OWNER_NAME_PATTERN);

  function emit(rev: Revision, category: EventCategory, payload: Record<string, unknown>): void {
    const event: AppEvent = {
      eventId: deps.ids(),
      owner: rev.owner,
      app: rev.app,
      category,
      createdAt: deps.clock(),
      payload: rev.deployedBy ? { ...payload, actor: { nickname: rev.deployedBy } } : payload,
    };
    deps.events.append(event);
  }

  async function deploy(input: DeployInput): Promise<Revision> {
    if (!ownerRe.test(input.owner))
      throw new PlatformError('OWNER_INVALID', `Invalid owner name "${input.owner}"`);
    await checkDir(input.dir);
    const manifest = parseManifest(input.manifest ?? (await readManifest(input.dir)), machineTypes);
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
      dir: input.dir,
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
      await deps.onRevision(app, rev);
    } catch (err) {
      await deps.apps.setRevisionStatus(rev.revisionId, 'failed');
      emit(rev, 'deployment_failed', { ...ids, reason: (err as Error).message });
      throw err;
    }
    await deps.apps.setRevisionStatus(rev.revisionId, 'deployed');
    emit(rev, 'deployment_ended', ids);
    return { ...rev, status: 'deployed' };
  }

  return { deploy };
}

function configChange(before: AppManifest, after: AppManifest): Record<string, unknown> {
  return {
    old_config: before,
    new_config: after,
    old_app_auth_mode: before.auth_mode,
    new_app_auth_mode: after.auth_mode,
  };
}

async function checkDir(dir: string): Promise<void> {
  const invalid = () =>
    new PlatformError(
      'DEPLOY_DIR_INVALID',
      `path "${dir}" must be an absolute path to an existing directory`,
    );
  if (typeof dir !== 'string' || !isAbsolute(dir)) throw invalid();
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw invalid();
}

async function readManifest(dir: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw new PlatformError('MANIFEST_INVALID', `${MANIFEST_FILE}: not found in ${dir}`);
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
