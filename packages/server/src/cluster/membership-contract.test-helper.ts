import type { ClusterMembership, NodeBeat } from '@hangar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** Two or three views of one registry, as separate nodes (separate connections) would hold them. */
export interface MembershipViews {
  views: ClusterMembership[];
  close(): Promise<void>;
}

/** A heartbeat of node `id` (started at `startedAt`). */
export function beatOf(id: string, startedAt = 1_000, over: Partial<NodeBeat> = {}): NodeBeat {
  return {
    nodeId: id,
    host: `${id}.local`,
    url: `http://${id}.local:8080`,
    version: '0.0.0-test',
    startedAt,
    capacity: { machineTypes: ['cpu'], runnerSlots: 4, gpus: 0, freeGpus: 0 },
    runners: 0,
    apps: [],
    draining: false,
    ...over,
  };
}

/** The ClusterMembership contract, run on every implementation. */
export function describeMembershipContract(name: string, open: () => Promise<MembershipViews>): void {
  describe(`ClusterMembership contract: ${name}`, () => {
    let v: MembershipViews;
    let a: ClusterMembership;
    let b: ClusterMembership;
    beforeEach(async () => {
      v = await open();
      [a, b] = v.views as [ClusterMembership, ClusterMembership];
    });
    afterEach(() => v.close());

    it('registers nodes by heartbeat, seen from every view, and forgets a deregistered one', async () => {
      expect(await a.heartbeat(beatOf('n1', 1_000, { runners: 2 }), 5_000)).toBe('alive');
      expect(await b.heartbeat(beatOf('n2'), 5_100)).toBe('alive');
      await a.heartbeat(beatOf('n1', 1_000, { runners: 3, draining: true }), 6_000);
      const nodes = await b.listNodes();
      expect(nodes.map((n) => [n.nodeId, n.lastHeartbeat, n.runners, n.draining, n.deadAt])).toEqual([
        ['n1', 6_000, 3, true, null],
        ['n2', 5_100, 0, false, null],
      ]);
      expect(nodes[0]?.capacity).toEqual(beatOf('n1').capacity);
      await b.deregister('n1');
      expect((await a.listNodes()).map((n) => n.nodeId)).toEqual(['n2']);
    });

    it('elects one leader among views, renews only with its own token, and raises the token on every lease', async () => {
      const first = await a.campaign('n1', 60_000, null);
      expect(first).toMatchObject({ nodeId: 'n1' });
      expect(await b.campaign('n2', 60_000, null)).toBeNull();
      expect(await b.leader()).toEqual(first);
      expect(await a.campaign('n1', 60_000, first!.token)).toEqual(first);
      // The same node id under a token it does not hold (a restarted process) does not renew.
      expect(await b.campaign('n1', 60_000, first!.token + 1)).toBeNull();
      expect(await b.holds('n1', first!.token)).toBe(true);
      await b.resign('n2', first!.token);
      expect(await a.leader()).toEqual(first);
      await a.resign('n1', first!.token);
      expect(await a.leader()).toBeNull();
      const second = await b.campaign('n2', 60_000, null);
      expect(second?.token).toBeGreaterThan(first!.token);
      expect(await a.holds('n1', first!.token)).toBe(false);
    });

    it('refuses fenced actions of a stale leader', async () => {
      await a.heartbeat(beatOf('victim', 1_000), 2_000);
      const old = (await a.campaign('n1', 60_000, null))!;
      await a.resign('n1', old.token);
      const next = (await b.campaign('n2', 60_000, null))!;
      expect(await a.markDead(old, { nodeId: 'victim', startedAt: 1_000 }, 9_000)).toBe(false);
      expect(await a.publishTargets(old, { victim: { 'acme/echo': 2 } }, 9_000)).toBe(false);
      expect(await a.targetsFor('victim')).toBeNull();
      expect((await a.listNodes())[0]?.deadAt).toBeNull();
      expect(await b.publishTargets(next, { victim: { 'acme/echo': 2 } }, 9_000)).toBe(true);
      expect(await a.targetsFor('victim')).toEqual({
        token: next.token,
        at: 9_000,
        apps: { 'acme/echo': 2 },
      });
      expect(await b.publishTargets(next, { other: { 'acme/echo': 1 } }, 9_500)).toBe(true);
      expect(await a.targetsFor('victim')).toBeNull();
    });

    it('evicts the incarnation declared dead, and lets a restarted one (new startedAt) join again', async () => {
      await a.heartbeat(beatOf('n3', 1_000), 2_000);
      const lead = (await b.campaign('n2', 60_000, null))!;
      expect(await b.markDead(lead, { nodeId: 'n3', startedAt: 1_000 }, 12_000)).toBe(true);
      expect((await a.listNodes()).find((n) => n.nodeId === 'n3')).toMatchObject({
        deadAt: 12_000,
        lastHeartbeat: 2_000,
      });
      expect(await a.heartbeat(beatOf('n3', 1_000), 13_000)).toBe('evicted');
      expect((await b.listNodes())[0]?.lastHeartbeat).toBe(2_000);
      expect(await a.heartbeat(beatOf('n3', 20_000), 21_000)).toBe('alive');
      expect((await b.listNodes())[0]).toMatchObject({ deadAt: null, startedAt: 20_000 });
    });
  });
}
