import type { ClusterMembership, Leadership, NodeRecord, NodeTargets } from '@hangar/core';

/**
 * The membership of an embedded server: one process, so the registry lives in memory and its one node
 * is always the leader (token 1). It follows the port's contract, so a second node id registered here
 * (tests) never gets the lease while the first holds it.
 */
export function createLocalMembership(): ClusterMembership {
  const nodes = new Map<string, NodeRecord>();
  const targets = new Map<string, NodeTargets>();
  let lease: Leadership | null = null;
  let lastToken = 0;
  const same = (a: Leadership | null, b: Leadership) => a?.nodeId === b.nodeId && a.token === b.token;

  return {
    async heartbeat(beat, now) {
      const prev = nodes.get(beat.nodeId);
      if (prev && prev.startedAt === beat.startedAt && prev.deadAt !== null) return 'evicted';
      nodes.set(beat.nodeId, structuredClone({ ...beat, lastHeartbeat: now, deadAt: null }));
      return 'alive';
    },
    async listNodes() {
      return [...nodes.values()]
        .map((n) => structuredClone(n))
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    },
    async deregister(nodeId) {
      nodes.delete(nodeId);
      targets.delete(nodeId);
    },
    // No timer runs out in one process: the lease is held until resigned.
    async campaign(nodeId, _leaseMs, token) {
      if (lease === null) {
        lease = { nodeId, token: ++lastToken };
        return { ...lease };
      }
      return token !== null && same(lease, { nodeId, token }) ? { ...lease } : null;
    },
    async leader() {
      return lease ? { ...lease } : null;
    },
    async resign(nodeId, token) {
      if (same(lease, { nodeId, token })) lease = null;
    },
    async holds(nodeId, token) {
      return same(lease, { nodeId, token });
    },
    async markDead(leader, node, at) {
      if (!same(lease, leader)) return false;
      const rec = nodes.get(node.nodeId);
      if (rec && rec.startedAt === node.startedAt) rec.deadAt = at;
      return true;
    },
    async publishTargets(leader, next, at) {
      if (!same(lease, leader)) return false;
      targets.clear();
      for (const [nodeId, apps] of Object.entries(next)) {
        targets.set(nodeId, { token: leader.token, at, apps: { ...apps } });
      }
      return true;
    },
    async targetsFor(nodeId) {
      const t = targets.get(nodeId);
      return t ? structuredClone(t) : null;
    },
    async close() {},
  };
}
