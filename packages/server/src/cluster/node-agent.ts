import type {
  ClusterMembership,
  Leadership,
  NodeAppLoad,
  NodeBeat,
  NodeCapacity,
  NodeRecord,
} from '@hangar/core';
import { type DeadNodeDeps, sweepDeadNodes } from './dead-nodes.js';
import { createElection } from './election.js';
import { type DemandSource, heartbeatDemand, planPlacement } from './placement.js';

/** The logger calls the agent makes (pino's shape). */
export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Timing of heartbeats and the lease (`cluster.*` in the config file). */
export interface AgentTiming {
  leaseMs: number;
  renewMs: number;
  deadAfterMs: number;
  retentionIntervalMs: number;
}

/** What a node's agent is built from. */
export interface NodeAgentDeps {
  membership: ClusterMembership;
  self: Pick<NodeBeat, 'nodeId' | 'host' | 'url' | 'version' | 'startedAt'>;
  capacity: () => NodeCapacity;
  /** This node's runners and per-app load now (its supervisor's stats). */
  load: () => { runners: number; apps: NodeAppLoad[] };
  timing: AgentTiming;
  now: () => number;
  logger: AgentLogger;
  /** The stores the leader closes dead nodes' runners in. */
  deadNodes: Omit<DeadNodeDeps, 'membership' | 'deadAfterMs'>;
  demand?: DemandSource;
  /** Retention (the store's maintenance), run by the leader every `retentionIntervalMs`. */
  retention?: (leader: Leadership) => Promise<void>;
  /** More work for nodes declared dead (listed until forgotten), run by the leader every round. */
  deadNodeDuty?: (dead: readonly NodeRecord[], leader: Leadership, now: number) => Promise<void>;
  /** Called once when a heartbeat finds this incarnation declared dead (it was cut off too long). */
  onEvicted: () => void;
}

/** A node's membership: heartbeats, the lease, the leader's duties, and this node's placement target. */
export interface NodeAgent {
  /** One heartbeat and lease round (run every `renewMs` once started). */
  tick(): Promise<void>;
  /**
   * Registers this incarnation before it starts any runner (one heartbeat that takes no work yet), so a
   * leader never takes this incarnation's runners for those of an earlier one it declared dead. Answers
   * the earlier incarnation's last heartbeat, where its orphaned runners' machine time ends (null when
   * there was none, or the registry cannot be reached).
   */
  join(): Promise<number | null>;
  start(): void;
  /** The runners the leader placed here for `owner/app` (0 when none). */
  targetFor(owner: string, app: string): number;
  leader(): Leadership | null;
  /** Whether the last heartbeat reached the registry. */
  reachable(): boolean;
  /** Stops taking work: heartbeats say `draining`, the lease is given up. */
  drain(): Promise<void>;
  /** Stops the timer and removes this node from the registry. */
  close(): Promise<void>;
}

/** Creates the agent; `start()` begins its timer. */
export function createNodeAgent(deps: NodeAgentDeps): NodeAgent {
  const { membership, timing, logger } = deps;
  let draining = false;
  let reachable = false;
  let evicted = false;
  let targets: Record<string, number> = {};
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let lastRetention = Number.NEGATIVE_INFINITY;
  let warned = false;
  const nodeId = deps.self.nodeId;
  const election = createElection({
    membership,
    nodeId,
    leaseMs: timing.leaseMs,
    now: deps.now,
    onChange: (lead) =>
      logger.info(
        { node: nodeId, token: lead?.token },
        lead ? 'this node leads the cluster' : 'no longer the leader',
      ),
    onError: () => {},
  });

  async function beat(joining = false): Promise<void> {
    const now = deps.now();
    const beatBody: NodeBeat = {
      ...deps.self,
      ...deps.load(),
      capacity: deps.capacity(),
      draining: draining || joining,
    };
    const outcome = await membership.heartbeat(beatBody, now);
    reachable = true;
    warned = false;
    if (outcome === 'evicted' && !evicted) {
      evicted = true;
      logger.error({ node: nodeId }, 'this node was declared dead by the leader after missing heartbeats');
      deps.onEvicted();
    }
  }

  async function lead(leader: Leadership): Promise<void> {
    const now = deps.now();
    const dead = { ...deps.deadNodes, membership, deadAfterMs: timing.deadAfterMs };
    const closed = await sweepDeadNodes(dead, leader, now);
    if (closed > 0)
      logger.warn({ runners: closed }, 'closed the runners of dead nodes at their last heartbeat');
    const nodes = await membership.listNodes();
    const gone = nodes.filter((n) => n.deadAt !== null);
    if (deps.deadNodeDuty && gone.length > 0 && (await membership.holds(leader.nodeId, leader.token)))
      await deps.deadNodeDuty(gone, leader, now);
    const demand = await (deps.demand ?? heartbeatDemand).demand(nodes);
    await membership.publishTargets(leader, planPlacement(demand, nodes), now);
    if (deps.retention && now - lastRetention >= timing.retentionIntervalMs) {
      lastRetention = now;
      if (await membership.holds(leader.nodeId, leader.token)) await deps.retention(leader);
    }
  }

  async function round(): Promise<void> {
    try {
      await beat();
      if (!draining && !evicted) await election.tick();
      const leader = election.current();
      if (leader) await lead(leader);
      targets = (await membership.targetsFor(nodeId))?.apps ?? {};
    } catch (err) {
      reachable = false;
      if (!warned) logger.warn({ err }, 'cluster membership round failed; retrying');
      warned = true;
    }
  }

  const tick = () => {
    running ??= round().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    tick,
    async join() {
      try {
        const before = (await membership.listNodes()).find((n) => n.nodeId === nodeId);
        await beat(true);
        return before && before.startedAt !== deps.self.startedAt ? before.lastHeartbeat : null;
      } catch (err) {
        logger.warn({ err }, 'could not register this node before starting runners; the heartbeats will');
        return null;
      }
    },
    start() {
      if (timer) return;
      void tick();
      timer = setInterval(() => void tick(), timing.renewMs);
      timer.unref();
    },
    targetFor: (owner, app) => (draining ? 0 : (targets[`${owner}/${app}`] ?? 0)),
    leader: () => election.current(),
    reachable: () => reachable,
    async drain() {
      draining = true;
      await running;
      await election.resign();
      await beat().catch(() => {});
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
      await membership.deregister(nodeId).catch((err) => logger.warn({ err }, 'could not deregister'));
    },
  };
}
