import type { App, AppSettings, AppStore } from '@hangar/core';
import type { AgentLogger } from './node-agent.js';

/** How often a node of a cluster compares the apps it runs with the shared app store. */
export const APP_SYNC_MS = 2000;

/** What the app sync works with. */
export interface AppSyncDeps {
  apps: Pick<AppStore, 'listApps' | 'listSettings'>;
  /** Starts (or moves to its current revision) an app on this node: the app operations' `restore`. */
  restore(app: App): Promise<void>;
  /** Applies changed scaling overrides or rollout to an app this node runs: the app operations' `follow`. */
  follow(app: App, settings: AppSettings): Promise<void>;
  /** Stops this node's runners of an app removed elsewhere (the local supervisor's `remove`). */
  removeLocal(owner: string, app: string): Promise<void>;
  /** Whether this node serves the app at all (single-tenant mode serves one owner). */
  serves(app: App): boolean;
  logger: AgentLogger;
  intervalMs?: number;
}

/** A running app sync; `close()` stops it. */
export interface AppSync {
  /** One comparison now (tests; the timer runs it every `intervalMs`). */
  run(): Promise<void>;
  close(): Promise<void>;
}

/**
 * In a cluster an app is deployed, moved to another revision, scaled, rolled out or removed through one
 * node, and the others follow from the shared app store: every `intervalMs` each node starts apps it does
 * not run yet, moves apps whose current revision changed, applies scaling overrides and rollouts that
 * changed, and stops its runners of apps that are gone. Two reads a pass (apps, settings). The first pass
 * only records what the start-up restore already ran.
 */
export function startAppSync(deps: AppSyncDeps): AppSync {
  /** Per app: the revision and the settings (as JSON) this node runs. */
  const seen = new Map<string, { revision: string; settings: string }>();
  let first = true;
  let running: Promise<void> | null = null;

  async function pass(): Promise<void> {
    const [apps, settingsRows] = await Promise.all([deps.apps.listApps(), deps.apps.listSettings()]);
    const settingsOf = new Map(settingsRows.map((r) => [`${r.owner}/${r.name}`, r.settings]));
    const now = new Set<string>();
    for (const app of apps.filter((a) => deps.serves(a))) {
      const key = `${app.owner}/${app.name}`;
      now.add(key);
      const settings = settingsOf.get(key) ?? { scaling: {}, rollout: null };
      const state = { revision: app.currentRevision, settings: JSON.stringify(settings) };
      const was = seen.get(key);
      if (was?.revision === state.revision && was.settings === state.settings) continue;
      if (!first) {
        try {
          if (was?.revision === state.revision) await deps.follow(app, settings);
          else await deps.restore(app);
        } catch (err) {
          deps.logger.error({ err, app: key }, 'could not apply an app change made on another node');
          continue;
        }
      }
      seen.set(key, state);
    }
    for (const key of [...seen.keys()]) {
      if (now.has(key)) continue;
      seen.delete(key);
      const [owner = '', name = ''] = key.split('/');
      await deps
        .removeLocal(owner, name)
        .catch((err: unknown) => deps.logger.warn({ err, app: key }, 'could not stop a removed app'));
    }
    first = false;
  }

  const run = () => {
    running ??= pass()
      .catch((err: unknown) => deps.logger.warn({ err }, 'app sync failed; retrying'))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void run(), deps.intervalMs ?? APP_SYNC_MS);
  timer.unref();
  return {
    run,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
