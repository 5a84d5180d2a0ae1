import type { NodeRecord } from '@hangar/core';

/** What one app needs cluster-wide, as the leader sees it. */
export interface AppDemand {
  /** `owner/app`. */
  key: string;
  machineType: string;
  /** Requests waiting cluster-wide, and those running now. */
  queued: number;
  inFlight: number;
}

/**
 * Where the leader reads each app's demand. The in-process source sums the loads nodes report in their
 * heartbeats (each node's supervisor stats); a cluster-wide work queue answers the same from its lengths.
 */
export interface DemandSource {
  demand(nodes: readonly NodeRecord[]): Promise<AppDemand[]>;
}

/** Demand summed over the loads live nodes report in their heartbeats. */
export const heartbeatDemand: DemandSource = {
  async demand(nodes) {
    const byApp = new Map<string, AppDemand>();
    for (const node of nodes) {
      if (node.deadAt !== null) continue;
      for (const load of node.apps) {
        const key = `${load.owner}/${load.app}`;
        const d = byApp.get(key) ?? { key, machineType: load.machineType, queued: 0, inFlight: 0 };
        d.queued += load.queued;
        d.inFlight += load.inFlight;
        byApp.set(key, d);
      }
    }
    return [...byApp.values()];
  },
};

/** Node id → `owner/app` → runners to keep there. */
export type Placement = Record<string, Record<string, number>>;

/**
 * Places the runners each app needs (one per waiting or running request; a node scales further on its
 * own queue within `max_concurrency`) on nodes that take work and run its machine type: first where its
 * runners already are, then one at a time on the node with the most free runner slots (ties by id).
 * Draining and dead nodes get nothing, so their share moves to the others.
 */
export function planPlacement(apps: readonly AppDemand[], nodes: readonly NodeRecord[]): Placement {
  const open = nodes.filter((n) => n.deadAt === null && !n.draining);
  const free = new Map(open.map((n) => [n.nodeId, n.capacity.runnerSlots - n.runners]));
  const out: Placement = Object.fromEntries(open.map((n) => [n.nodeId, {}]));
  for (const app of [...apps].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    let need = app.queued + app.inFlight;
    const fits = open.filter((n) => n.capacity.machineTypes.includes(app.machineType));
    for (const node of fits) {
      const [owner, name] = splitKey(app.key);
      const here = node.apps.find((l) => l.owner === owner && l.app === name)?.runners ?? 0;
      const keep = Math.min(here, need);
      if (keep > 0) add(out, node.nodeId, app.key, keep);
      need -= keep;
    }
    while (need > 0 && fits.length > 0) {
      const best = fits.reduce((a, b) => (free.get(b.nodeId)! > free.get(a.nodeId)! ? b : a));
      if (free.get(best.nodeId)! <= 0) break;
      add(out, best.nodeId, app.key, 1);
      free.set(best.nodeId, free.get(best.nodeId)! - 1);
      need--;
    }
  }
  return out;
}

function add(out: Placement, nodeId: string, key: string, n: number): void {
  const apps = out[nodeId] ?? {};
  apps[key] = (apps[key] ?? 0) + n;
  out[nodeId] = apps;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
