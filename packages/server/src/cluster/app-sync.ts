import type { App } from '@hangar/core';

/** What the app sync reads and drives. */
export interface AppSyncDeps {
  /** The shared app store (PostgreSQL in a cluster). */
  listApps(): Promise<App[]>;
  /** Runs the app's current revision with its scaling and rollout here (a no-op for what already runs). */
  restore(app: App): Promise<void>;
  /** Ends the app's pool here: it was removed through another node. */
  remove(owner: string, name: string): Promise<void>;
  /** Whether this node serves the app (single-tenant nodes serve one owner). */
  serves(app: App): boolean;
  onError(err: unknown, app: string): void;
  intervalMs: number;
}

/** A running app sync. */
export interface AppSync {
  /** Compares the store with what this node runs and applies the difference once. */
  sync(): Promise<void>;
  stop(): void;
}

/**
 * Keeps this node's runner pools in step with the apps every node shares: a deploy, a revision switch,
 * a scaling change or a removal made through another node reaches this one within `intervalMs`.
 * Without it, a node would serve only the apps that existed when it started and those deployed through it,
 * so the leader's placement on it could never start a runner. An app is applied again when its
 * `updatedAt` changes; applying is idempotent (the same revision is not restarted).
 */
export function startAppSync(deps: AppSyncDeps, initial: readonly App[]): AppSync {
  const applied = new Map(initial.filter(deps.serves).map((a) => [`${a.owner}/${a.name}`, a.updatedAt]));
  let running: Promise<void> | null = null;

  async function pass(): Promise<void> {
    const apps = (await deps.listApps()).filter(deps.serves);
    const present = new Set<string>();
    for (const app of apps) {
      const key = `${app.owner}/${app.name}`;
      present.add(key);
      if (applied.get(key) === app.updatedAt) continue;
      try {
        await deps.restore(app);
        applied.set(key, app.updatedAt);
      } catch (err) {
        deps.onError(err, key);
      }
    }
    for (const key of [...applied.keys()]) {
      if (present.has(key)) continue;
      const [owner = '', name = ''] = key.split('/');
      try {
        await deps.remove(owner, name);
        applied.delete(key);
      } catch (err) {
        deps.onError(err, key);
      }
    }
  }

  function sync(): Promise<void> {
    running ??= pass()
      .catch((err: unknown) => deps.onError(err, '*'))
      .finally(() => {
        running = null;
      });
    return running;
  }

  const timer = setInterval(() => void sync(), deps.intervalMs);
  timer.unref();
  return {
    sync,
    stop() {
      clearInterval(timer);
    },
  };
}
