import type { ClusterMembership, NodeRecord, RunnerRegistry, RunnerRow } from '@hangar/core';

/** What the operator view is read from. */
export interface NodeViewDeps {
  membership: ClusterMembership;
  runners: RunnerRegistry;
  mode: 'embedded' | 'cluster';
  /** This node: runner rows without a node id (written before nodes were recorded) are counted here. */
  selfNodeId: string;
  deadAfterMs: number;
  now: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The wire status of a node. */
function statusOf(node: NodeRecord, now: number, deadAfterMs: number) {
  if (node.deadAt !== null) return 'dead' as const;
  if (node.draining) return 'draining' as const;
  return now - node.lastHeartbeat > deadAfterMs ? ('late' as const) : ('alive' as const);
}

function runnerInfo(r: RunnerRow) {
  return {
    runner_id: r.runnerId,
    owner: r.owner,
    app: r.app,
    machine_type: r.machineType,
    state: r.state,
    started_at: iso(r.startedAt),
  };
}

/** `GET /v1/nodes`: every node with its runners, capacity, heartbeat and placement target, and the leader. */
export async function readNodesView(deps: NodeViewDeps) {
  const now = deps.now();
  const [nodes, leader, live] = await Promise.all([
    deps.membership.listNodes(),
    deps.membership.leader(),
    deps.runners.listLiveRunners(),
  ]);
  const byNode = new Map<string, RunnerRow[]>();
  for (const r of live) {
    const id = r.nodeId ?? deps.selfNodeId;
    byNode.set(id, [...(byNode.get(id) ?? []), r]);
  }
  const out = [];
  for (const node of nodes) {
    const runners = byNode.get(node.nodeId) ?? [];
    const c = node.capacity;
    out.push({
      node_id: node.nodeId,
      host: node.host,
      url: node.url,
      version: node.version,
      status: statusOf(node, now, deps.deadAfterMs),
      is_leader: leader?.nodeId === node.nodeId,
      started_at: iso(node.startedAt),
      last_heartbeat: iso(node.lastHeartbeat),
      heartbeat_age_ms: Math.max(0, now - node.lastHeartbeat),
      dead_at: node.deadAt === null ? null : iso(node.deadAt),
      capacity: {
        machine_types: c.machineTypes,
        runner_slots: c.runnerSlots,
        gpus: c.gpus,
        free_gpus: c.freeGpus,
      },
      runner_count: runners.length,
      runners: runners.map(runnerInfo),
      targets: (await deps.membership.targetsFor(node.nodeId))?.apps ?? {},
    });
  }
  return {
    mode: deps.mode,
    leader: leader ? { node_id: leader.nodeId, token: leader.token } : null,
    nodes: out,
  };
}

/** The view `readNodesView` answers. */
export type NodesView = Awaited<ReturnType<typeof readNodesView>>;
