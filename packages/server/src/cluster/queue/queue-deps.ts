import type {
  AppManifest,
  Clock,
  QueueSignals,
  RequestRecord,
  RequestStore,
  StoredResult,
  WorkQueue,
} from '@hangar/core';
import type { SupervisorLogger } from '../../runners/context.js';
import type { Supervisor } from '../../runners/supervisor.js';

/** The request store as the cluster queue uses it (the gateway's, so payload objects and masking apply). */
export type QueueRequests = Pick<RequestStore, 'get' | 'getInput' | 'getResult' | 'update' | 'complete'>;

/** What the cluster queue of one node is built from. */
export interface ClusterQueueDeps {
  /** This node's id (`HANGAR_NODE_ID`). */
  node: string;
  queue: WorkQueue;
  signals: QueueSignals;
  /** This node's runner pool: claimed work runs on it, and only when it has a free runner. */
  local: Supervisor;
  clock: Clock;
  logger: SupervisorLogger;
  /** Attempts per request at most, across nodes (fal's ceiling, 10). */
  maxAttempts: number;
  /** How long a claim holds without renewal (default 5000 ms): a dead node's requests move on after it. */
  leaseMs?: number;
  /** How often free runners look for work, besides wake-ups (default 250 ms). */
  pollMs?: number;
  /** How often lapsed leases are taken back (default 1000 ms). */
  reclaimMs?: number;
}

/** What becomes known once the gateway's stores exist (see `ClusterSupervisor.start`). */
export interface ClusterQueueStores {
  requests: QueueRequests;
  manifestOf(owner: string, app: string): Promise<AppManifest | null>;
  resultTtlMs: number;
  jsonCap: number;
  /**
   * Resolves once every write queued so far is committed (rejects when it cannot be yet): a queued
   * request's claim is completed only after its completion is committed. Absent: writes are synchronous.
   */
  committed?: () => Promise<void>;
  /** Hears each queued request this node recorded (its webhook is armed here, whoever accepted it). */
  onRecorded?: (rec: RequestRecord, response: StoredResult) => void;
}
