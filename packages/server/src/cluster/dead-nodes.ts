import type {
  ClusterMembership,
  EventStore,
  IdSource,
  Leadership,
  MeterStore,
  NodeRecord,
  RunnerRegistry,
  RunnerRow,
} from '@hangar/core';
import { closingMeterRows } from '../runners/metering.js';

/** What the leader's dead-node duty works with. */
export interface DeadNodeDeps {
  membership: ClusterMembership;
  runners: RunnerRegistry;
  meter: MeterStore;
  events: EventStore;
  ids: IdSource;
  /** A node whose last heartbeat is older than this is dead (`cluster.dead_after_ms`). */
  deadAfterMs: number;
}

/** Ends a dead node's live runners (of `live`) at its last heartbeat and closes their metering there. */
export function closeRunnersOf(deps: DeadNodeDeps, node: NodeRecord, live: RunnerRow[], now: number): number {
  const end = node.lastHeartbeat;
  const rows = live.filter((r) => r.nodeId === node.nodeId);
  for (const row of rows) {
    const endedAt = Math.max(row.startedAt, end);
    deps.meter.record(closingMeterRows(row, endedAt));
    deps.runners.upsertRunner({ ...row, state: 'terminated', endedAt, meteredUntil: endedAt });
    deps.events.append({
      eventId: deps.ids(),
      owner: row.owner,
      app: row.app,
      category: 'runner_failed',
      createdAt: now,
      payload: {
        job_id: row.runnerId,
        machine_type: row.machineType,
        state: 'terminated',
        reason: `node ${node.nodeId} stopped sending heartbeats; metering closed at its last heartbeat`,
      },
    });
  }
  return rows.length;
}

/** A dead node stays listed (the operator view shows it) this long, then the leader forgets it. */
export const DEAD_NODE_KEPT_MS = 60 * 60_000;

/**
 * The leader's duty: marks nodes silent for longer than the threshold dead (fenced) and closes the
 * runners of every dead node. Closing is idempotent (the same end, the same rows), so a deposed leader
 * that raced past its fence check writes what the next one writes. Answers the runners closed.
 */
export async function sweepDeadNodes(deps: DeadNodeDeps, leader: Leadership, now: number): Promise<number> {
  const dead: NodeRecord[] = [];
  for (const node of await deps.membership.listNodes()) {
    if (node.nodeId === leader.nodeId) continue;
    if (node.deadAt === null) {
      if (now - node.lastHeartbeat <= deps.deadAfterMs) continue;
      if (!(await deps.membership.markDead(leader, node, now))) return 0;
      node.deadAt = now;
    }
    if (now - node.deadAt > DEAD_NODE_KEPT_MS) await deps.membership.deregister(node.nodeId);
    else dead.push(node);
  }
  if (dead.length === 0) return 0;
  const live = await deps.runners.listLiveRunners();
  // Read after the runners: a node restarted under the same id registers its new incarnation before it
  // starts a runner, so a runner of the new incarnation listed above shows here as that incarnation, and
  // its node is left alone (the new incarnation closes the dead one's runners itself, at the same end).
  const current = new Map((await deps.membership.listNodes()).map((n) => [n.nodeId, n]));
  if (!(await deps.membership.holds(leader.nodeId, leader.token))) return 0;
  let closed = 0;
  for (const node of dead) {
    if (current.get(node.nodeId)?.startedAt !== node.startedAt) continue;
    closed += closeRunnersOf(deps, node, live, now);
  }
  return closed;
}
