import type { App, AppStore } from '@hangar/core';
import type { AgentLogger } from './node-agent.js';

/** How often a node of a cluster compares the apps it runs with the shared app store. */
export const APP_SYNC_MS = 2000;

/** What the app sync works with. */
export interface AppSyncDeps {
  apps: Pick<AppStore, 'listApps'>;
  /** Starts (or moves to its current revision) an app on this node: the app operations' `restore`. */
  restore(app: App): Promise<void>;
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
 * In a cluster an app is deployed, moved to another revision or removed through one node, and the others
 * follow from the shared app store: every `intervalMs` each node starts apps it does not run yet, moves
 * apps whose current revision changed, and stops its runners of apps that are gone. The first pass only
 * records what the start-up restore already ran. Scaling and rollout changes made on another node reach
 * this node with the next revision change or restart.
 */
export function startAppSync(deps: AppSyncDeps): AppSync {
  const seen = new Map<string, string>();
  let first = true;
  let running: Promise<void> | null = null;

  async function pass(): Promise<void> {
    const listed = (await deps.apps.listApps()).filter((a) => deps.serves(a));
    const now = new Set<string>();
    for (const app of listed) {
      const key = `${app.owner}/${app.name}`;
      now.add(key);
      if (seen.get(key) === app.currentRevision) continue;
      if (!first) {
        try {
          await deps.restore(app);
        } catch (err) {
          deps.logger.error({ err, app: key }, 'could not start an app deployed on another node');
          continue;
        }
      }
      seen.set(key, app.currentRevision);
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
