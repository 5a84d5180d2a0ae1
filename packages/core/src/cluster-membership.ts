/** What one node can hold, from its machine types, its runner backend and its GPU inventory. */
export interface NodeCapacity {
  /** Machine types this node starts runners of. */
  machineTypes: string[];
  /** Runners this node holds at once (its `cluster.runner_slots`). */
  runnerSlots: number;
  /** GPUs in this node's inventory, and those not held by a runner. */
  gpus: number;
  freeGpus: number;
}

/** Load of one app on one node, as its supervisor sees it. */
export interface NodeAppLoad {
  owner: string;
  app: string;
  machineType: string;
  queued: number;
  inFlight: number;
  /** Runners of the app on this node that are not ending. */
  runners: number;
}

/** One node's record in the registry, refreshed by its heartbeats. */
export interface NodeRecord {
  nodeId: string;
  host: string;
  /** The node's own base URL (its `HANGAR_PUBLIC_URL`). */
  url: string;
  version: string;
  startedAt: number;
  lastHeartbeat: number;
  capacity: NodeCapacity;
  /** Runners on this node now. */
  runners: number;
  apps: NodeAppLoad[];
  /** True once the node stopped taking work (SIGTERM). */
  draining: boolean;
  /** Set by the leader when the heartbeat stopped for longer than the dead threshold. */
  deadAt: number | null;
}

/** What a node sends with each heartbeat: its record without what the registry keeps. */
export type NodeBeat = Omit<NodeRecord, 'lastHeartbeat' | 'deadAt'>;

/** The lease of the current leader. */
export interface Leadership {
  nodeId: string;
  /** Fencing token: strictly greater for every new lease; every leader action carries it. */
  token: number;
}

/** The runners each app should keep on one node, as the leader placed them. */
export interface NodeTargets {
  /** Token of the leader that published them. */
  token: number;
  at: number;
  /** `owner/app` → runners to keep warm on the node. */
  apps: Record<string, number>;
}

/** What a heartbeat learnt. */
export type BeatOutcome = 'alive' | 'evicted';

/**
 * The cluster's node registry and leader election with fencing. One implementation per engine: an
 * in-process one (one node, always the leader) and a shared one (Redis). Every leader action passes its
 * token and is refused (false) when the lease it came from is no longer the current one.
 */
export interface ClusterMembership {
  /** Records this node's heartbeat at `now`; `evicted` when the leader declared it dead meanwhile. */
  heartbeat(beat: NodeBeat, now: number): Promise<BeatOutcome>;
  /** Every registered node, dead ones included, ordered by id. */
  listNodes(): Promise<NodeRecord[]>;
  /** Removes the node's record (after a drain). */
  deregister(nodeId: string): Promise<void>;
  /**
   * Takes the lease for `nodeId` when free, or renews it when `nodeId` holds it under `token`.
   * Answers the lease held after the call (null when another node holds it).
   */
  campaign(nodeId: string, leaseMs: number, token: number | null): Promise<Leadership | null>;
  /** The current leader, or null while no lease is held. */
  leader(): Promise<Leadership | null>;
  /** Gives the lease up if still held under `token`. */
  resign(nodeId: string, token: number): Promise<void>;
  /** True while `token` is the lease held by `nodeId` (a fence check before an action elsewhere). */
  holds(nodeId: string, token: number): Promise<boolean>;
  /** Fenced: marks this incarnation of a node (its `startedAt`) dead as of `at`. */
  markDead(leader: Leadership, node: Pick<NodeRecord, 'nodeId' | 'startedAt'>, at: number): Promise<boolean>;
  /** Fenced: replaces every node's targets with these (nodes absent get none). */
  publishTargets(
    leader: Leadership,
    targets: Record<string, Record<string, number>>,
    at: number,
  ): Promise<boolean>;
  /** The targets last published for `nodeId`, or null. */
  targetsFor(nodeId: string): Promise<NodeTargets | null>;
  close(): Promise<void>;
}
