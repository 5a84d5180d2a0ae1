import type {
  AppEvent,
  Clock,
  EventCategory,
  GpuRequest,
  IdSource,
  LogBus,
  MachineType,
  RunnerDriver,
  Stores,
} from '@hangar/core';
import type { Job } from './dispatch/job.js';
import type { LogSink } from './log-sink.js';

/** The logger calls the supervisor makes (pino's shape). */
export interface SupervisorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Hands runners their owner's `DATA_DIR` (a host folder the drivers bind or pass on unchanged). */
export interface RunnerDataDirs {
  /** Readies the owner's folder for a runner about to start and answers its path. */
  acquire(owner: string): Promise<string>;
  /** The runner that acquired it ended (each `acquire` is released once). */
  release(owner: string): void;
}

/** The owners' secrets as runners get them (see secrets/secret-service.ts). */
export interface RunnerSecrets {
  /** The owner's secrets in clear, for a runner about to start; rejects when one cannot be opened. */
  forOwner(owner: string): Promise<Record<string, string>>;
  /** Replaces the owner's secret values in runner output with `***`. */
  mask(owner: string, text: string): string;
}

/** What the supervisor is built from. */
export interface SupervisorDeps {
  driver: RunnerDriver;
  stores: Pick<Stores, 'logs' | 'events' | 'meter' | 'samples' | 'runners'>;
  logBus: LogBus;
  machineTypes: Record<string, MachineType>;
  /**
   * How many runners needing these GPUs the runner backend can hold at once (this machine's matching
   * cards ÷ the count); absent: no limit. An app never has more live runners than that, so runners
   * waiting in PENDING for cards are ones that will get them.
   */
  gpuCapacity?: (request: GpuRequest) => number;
  /**
   * Request slots the cluster's leader placed on this node for an app: the runners they need (by
   * `max_multiplexing`) are kept warm like `min_concurrency`, never above `max_concurrency`.
   */
  placementFloor?: (owner: string, app: string) => number;
  /** This server's node id, put on every runner as its `node` label (default `local`). */
  nodeId?: string;
  /**
   * The runner registry is shared by a cluster's nodes: at start this node closes only the live rows of
   * its own node id (the others' runners are alive elsewhere, or the leader's to close).
   */
  sharedRegistry?: boolean;
  /** The owner's file storage root, given to runners as `DATA_DIR`. */
  dataRoot: (owner: string) => string;
  /**
   * Where runners' `DATA_DIR`s come from when they are not `dataRoot` itself: with object storage, a
   * node-local cache kept in step with the store (see storage/owner-sync.ts).
   */
  dataDirs?: RunnerDataDirs;
  /** Secrets handed to runners as environment variables and masked in their output (none when absent). */
  secrets?: RunnerSecrets;
  clock: Clock;
  ids: IdSource;
  logger: SupervisorLogger;
  /** Attempts per request at most, the first included (fal's ceiling; default 10). */
  maxAttempts?: number;
  /** How often runner state counts are sampled (default 5000 ms). */
  sampleIntervalMs?: number;
  /** How often machine time is written (default 5000 ms). */
  meterIntervalMs?: number;
  /** Period of the housekeeping tick: health polls, timeouts, scaling, log batches (default 100 ms). */
  healthIntervalMs?: number;
  /** Time a stopping runner gets between SIGTERM and SIGKILL (default 5000 ms). */
  stopGraceMs?: number;
  /** First startup-failure backoff; doubles per consecutive failure (default 1000 ms, capped at 60 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** Shared state and services of one supervisor, handed to its pools and runners. */
export interface SupervisorContext {
  readonly deps: SupervisorDeps;
  readonly maxAttempts: number;
  readonly stopGraceMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly logs: LogSink;
  /** Requests known to the supervisor (queued or running), by id. */
  readonly jobs: Map<string, Job>;
  /** Set once `close()` began: no new attempts start and failures are not retried. */
  closing: boolean;
  /** Live runners of a machine type across all apps (for surge). */
  liveOfType(machineType: string): number;
  /** Records an app event with fal's payload shape. */
  event(owner: string, app: string, category: EventCategory, payload: AppEvent['payload']): void;
}
