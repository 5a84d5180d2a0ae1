import {
  type AppStore,
  HOUR_MS,
  type Leadership,
  type NodeRecord,
  type RequestStore,
  type WorkQueue,
} from '@hangar/core';
import { closeAbandonedSyncCall } from '../gateway/recovery.js';
import type { ServerStores } from '../store/open-stores.js';
import { loadMigrations } from '../store/postgres/index.js';
import { rebuildRollupHours } from '../store/postgres/reads/rollups.js';
import type { AgentLogger } from './node-agent.js';
import { type AppDemand, type DemandSource, heartbeatDemand } from './placement.js';

/**
 * A dead node's rollups are rebuilt for the hours around its last heartbeat once this long has passed
 * after the last of those hours: every live node drains its rollups each second and commits them within
 * its writer's retries, so by then no live node adds to those cells, and the rebuild replaces nothing
 * another node still owes. Rows a live node still holds after that (a database outage longer than this)
 * would be counted twice.
 */
export const ROLLUP_SETTLE_MS = 5 * 60_000;
/** What a node may have left undrained before its last heartbeat: its drain interval, with margin. */
const UNDRAINED_MS = 60_000;

/** What the leader's duties work with. */
export interface LeaderDutiesDeps {
  stores: ServerStores;
  /** The gateway's request store (so closes are observed by this node's analytics). */
  requests: Pick<RequestStore, 'listUnfinished' | 'complete'>;
  apps: Pick<AppStore, 'listApps'>;
  /** The cluster-wide work queue, when there is one. */
  workQueue: WorkQueue | null;
  logger: AgentLogger;
}

/** The parts `createClusterNode().start` takes: only those that apply to the stores in use. */
export interface LeaderDuties {
  retention?: () => Promise<void>;
  migrationsApplied?: () => Promise<boolean>;
  demand?: DemandSource;
  deadNodeDuty?: (dead: readonly NodeRecord[], leader: Leadership, now: number) => Promise<void>;
}

/**
 * The leader's cluster-wide work beyond the nodes slice's: PostgreSQL retention and partitions on the
 * leader only, placement demand from the work queue's lengths, and for every node declared dead, its
 * abandoned sync calls closed and its undrained analytics rebuilt. On SQLite only the queue demand applies.
 */
export function createLeaderDuties(deps: LeaderDutiesDeps): LeaderDuties {
  const pg = deps.stores.postgres;
  const duties: LeaderDuties = {};
  if (deps.workQueue) duties.demand = queueDemand(deps.workQueue, deps.apps);
  if (!pg) return duties;
  duties.retention = async () => {
    await pg.maintain(Date.now());
  };
  let known: Promise<number[]> | null = null;
  duties.migrationsApplied = async () => {
    known ??= loadMigrations().then((ms) => ms.map((m) => m.version));
    const { rows } = await pg.pool.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    return (await known).every((v) => done.has(v));
  };
  const handled = new Set<string>();
  const rebuilds = new Map<string, { from: number; to: number }>();
  duties.deadNodeDuty = async (dead, _leader, now) => {
    for (const node of dead) {
      const key = `${node.nodeId}@${node.startedAt}`;
      if (handled.has(key) || node.deadAt === null) continue;
      const closed = await closeSyncCallsOf(deps.requests, deps.workQueue, node);
      handled.add(key);
      if (closed > 0) deps.logger.warn({ node: node.nodeId, closed }, 'closed the sync calls of a dead node');
      const from = hourOf(node.lastHeartbeat - UNDRAINED_MS);
      rebuilds.set(key, { from, to: hourOf(node.deadAt) + HOUR_MS });
    }
    for (const [key, r] of rebuilds) {
      if (now < r.to + ROLLUP_SETTLE_MS) continue;
      rebuilds.delete(key);
      const folded = await rebuildRollupHours(pg.pool, r.from, r.to);
      deps.logger.info({ node: key, from: r.from, to: r.to, folded }, 'rebuilt the rollups a dead node left');
    }
  };
  return duties;
}

const hourOf = (t: number) => t - (((t % HOUR_MS) + HOUR_MS) % HOUR_MS);

/**
 * Sync calls a dead node accepted before it died end as the connection error their callers saw (fal
 * never retries a direct call), at its last heartbeat, so any leader writes the same; a relayed one still
 * queued is taken out of the queue. Requests accepted after it was declared dead are a new incarnation's
 * (a restart under the same node id), not closed here. Its queued requests
 * stay in the cluster queue, where other nodes run and record them.
 */
async function closeSyncCallsOf(
  requests: LeaderDutiesDeps['requests'],
  queue: WorkQueue | null,
  node: NodeRecord,
): Promise<number> {
  let closed = 0;
  for (const rec of await requests.listUnfinished({ acceptedBy: node.nodeId })) {
    if (rec.mode !== 'sync' || rec.sentAt > (node.deadAt ?? node.lastHeartbeat)) continue;
    // A relayed call still waiting in the queue would run for nobody.
    await queue?.remove(rec.requestId);
    closeAbandonedSyncCall(requests, rec, Math.max(rec.sentAt, node.lastHeartbeat));
    closed++;
  }
  return closed;
}

/**
 * Demand from the cluster-wide queue: each app's waiting requests are its queue length (the same number
 * from every node, and counting requests whose accepting node is gone), and its running ones the sum of
 * what live nodes report in their heartbeats.
 */
export function queueDemand(queue: WorkQueue, apps: Pick<AppStore, 'listApps'>): DemandSource {
  return {
    async demand(nodes) {
      const byKey = new Map<string, AppDemand>();
      for (const d of await heartbeatDemand.demand(nodes)) byKey.set(d.key, { ...d, queued: 0 });
      const all = await apps.listApps();
      const lengths = await Promise.all(all.map((a) => queue.length(a.owner, a.name)));
      all.forEach((app, i) => {
        const key = `${app.owner}/${app.name}`;
        const queued = lengths[i] ?? 0;
        const d = byKey.get(key);
        if (d) d.queued = queued;
        else if (queued > 0)
          byKey.set(key, { key, machineType: app.manifest.machine_type, queued, inFlight: 0 });
      });
      return [...byKey.values()];
    },
  };
}
