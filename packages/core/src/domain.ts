import type { RunnerGpuSummary } from './gpu-history.js';

/** Key scopes, as fal names them. */
export type KeyScope = 'API' | 'ADMIN';

/** An authenticated caller: the key and the owner namespace it belongs to. */
export interface Principal {
  keyId: string;
  owner: string;
  scope: KeyScope;
}

/** A stored API key (the secret itself is never stored, only its hash). */
export interface ApiKeyRecord {
  keyId: string;
  owner: string;
  scope: KeyScope;
  name: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export type AuthMode = 'private' | 'public' | 'shared';

/** The `hangar.json` manifest of an app directory, after validation and defaults. */
export interface AppManifest {
  name: string;
  /** The app's argv in its bundle; optional for image apps, where it overrides the image's entrypoint. */
  command?: string[];
  /** An OCI image reference (`registry/name:tag` or `…@sha256:<hex>`): the app runs as this image. */
  image?: string;
  machine_type: string;
  /** GPUs per runner, overriding the machine type's count (absent: the machine type's). */
  gpus?: number;
  environment: string;
  auth_mode: AuthMode;
  keep_alive: number;
  min_concurrency: number;
  max_concurrency: number;
  max_multiplexing: number;
  request_timeout: number;
  startup_timeout: number;
  /** Seconds the queue must stay above capacity before runners are started for it (fal's `scaling_delay`). */
  scaling_delay?: number;
  /** Runners kept above current demand (fal's `concurrency_buffer`). */
  concurrency_buffer?: number;
  health_path: string;
  /** Route paths the app serves (`/` plus any extra, e.g. `/turbo`); requests to others are 404. */
  routes: string[];
  /** Routes served as WebSocket connections (absent in manifests stored before they existed: none). */
  websocket_routes?: string[];
  env: Record<string, string>;
  /** Conditions under which a queued request is never retried (fal's `skip_retry_conditions`). */
  skip_retry_conditions?: RetryCondition[];
  /** Default retry budget per condition for queued requests (fal's `retry_config`). */
  retry_config?: Partial<Record<RetryCondition, { retries: number }>>;
}

export type RevisionStatus = 'deployed' | 'failed' | 'deploying';

/** One deploy of an app. */
export interface Revision {
  revisionId: string;
  owner: string;
  app: string;
  createdAt: number;
  message: string | null;
  annotations: Record<string, string> | null;
  status: RevisionStatus;
  deployedBy: string | null;
  manifest: AppManifest;
  /** The bundle the revision was deployed from (`sha256:<hex>`); null for revisions recorded before bundles. */
  bundle: string | null;
  /** Absolute path of the directory holding the app's code on the server (the unpacked bundle). */
  dir: string;
}

/** That an owner uploaded a bundle: an owner may deploy only bundles it holds. */
export interface BundleRecord {
  owner: string;
  /** `sha256:<hex>` of the gzip'd tar. */
  digest: string;
  /** Compressed size in bytes. */
  bytes: number;
  createdAt: number;
}

/** A deployed app: its current revision's manifest plus identity. */
export interface App {
  owner: string;
  name: string;
  currentRevision: string;
  manifest: AppManifest;
  dir: string;
  createdAt: number;
  updatedAt: number;
}

/** Scaling fields `hangar apps scale` sets without a redeploy; absent fields follow the revision's manifest. */
export interface ScalingOverrides {
  min_concurrency?: number;
  max_concurrency?: number;
  keep_alive?: number;
  max_multiplexing?: number;
  scaling_delay?: number;
  concurrency_buffer?: number;
  startup_timeout?: number;
}

/** A gradual traffic shift to `revisionId`: it serves `percent` of the app's requests. */
export interface RolloutState {
  revisionId: string;
  percent: number;
  startedAt: number;
}

/** What app operations persist beside the current revision, so a restart keeps them. */
export interface AppSettings {
  scaling: ScalingOverrides;
  rollout: RolloutState | null;
}

/** A live runner as the runners operations report it. */
export interface LiveRunner {
  runnerId: string;
  revisionId: string;
  machineType: string;
  state: RunnerState;
  createdAt: number;
  readyAt: number | null;
  /** When it terminated (runners read back from the registry); absent or null while alive. */
  endedAt?: number | null;
  inFlight: number;
  maxMultiplexing: number;
  /** True once a stop or kill was asked for and the process is exiting. */
  stopping: boolean;
  /** When the runner entered its current state. */
  stateSince: number;
  times: RunnerStateTimes;
  /** Its GPUs' sampled usage so far (absent or empty: no GPU or not sampled yet). */
  gpus?: RunnerGpuSummary[];
}

/**
 * fal's runner states, in Hangar's lowercase spelling (fal writes them in capitals: `PENDING`,
 * `DOCKER_PULL`, `SETUP`, `IDLE`, `RUNNING`, `DRAINING`, `TERMINATING`, `TERMINATED`).
 */
export type RunnerState =
  | 'pending'
  | 'docker_pull'
  | 'setup'
  | 'idle'
  | 'running'
  | 'draining'
  | 'terminating'
  | 'terminated';

/** Every runner state in lifecycle order. */
export const RUNNER_STATES: readonly RunnerState[] = [
  'pending',
  'docker_pull',
  'setup',
  'idle',
  'running',
  'draining',
  'terminating',
  'terminated',
];

/** fal's spelling of a runner state (`docker_pull` → `DOCKER_PULL`). */
export function falRunnerState(state: RunnerState): string {
  return state.toUpperCase();
}

/** One entry of a runner's timeline: the state it entered and when (epoch ms). */
export interface RunnerTransition {
  state: RunnerState;
  at: number;
}

/**
 * Where a runner spent its time: seconds per state left so far (idle and running add up over every
 * visit) and its lifecycle timeline. Going between `idle` and `running` is not a timeline entry (it
 * happens per request); their totals are in `seconds`.
 */
export interface RunnerStateTimes {
  seconds: Partial<Record<RunnerState, number>>;
  timeline: RunnerTransition[];
}

/**
 * Error classes of fal's analytics breakdown, plus `start_timeout`: the caller's `X-Fal-Request-Timeout`
 * deadline passed before any runner started the request.
 */
export type ErrorClass = 'startup' | 'connection' | 'timeout' | 'runtime' | 'start_timeout';

/** fal's retry conditions (`skip_retry_conditions`, `retry_config`, `X-Fal-Retry-Config`). */
export type RetryCondition = 'server_error' | 'timeout' | 'connection_error';

/** Every retry condition, in fal's order. */
export const RETRY_CONDITIONS: readonly RetryCondition[] = ['server_error', 'timeout', 'connection_error'];

/** Retries allowed per condition after the first attempt (fal's `{"<condition>": {"retries": N}}`). */
export type RetryBudgets = Partial<Record<RetryCondition, number>>;

export type QueueStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';

/** Everything recorded about one request (epoch milliseconds for times). */
export interface RequestRecord {
  requestId: string;
  owner: string;
  app: string;
  /** Route-level endpoint id: `owner/app` or `owner/app/route`. */
  endpointId: string;
  callerKeyId: string | null;
  method: string;
  mode: 'sync' | 'queue';
  status: QueueStatus;
  cancelled: boolean;
  priority: 'normal' | 'low';
  sentAt: number;
  startedAt: number | null;
  endedAt: number | null;
  statusCode: number | null;
  prepareMs: number | null;
  durationMs: number | null;
  runnerId: string | null;
  coldStart: boolean;
  coldBootMs: number | null;
  billableUnits: number | null;
  errorClass: ErrorClass | null;
  attempts: number;
  storeIo: boolean;
  /** The parsed payload, or a `JsonText` holding it still as text. */
  jsonInput: unknown;
  jsonOutput: unknown;
  /** The caller's start deadline (`X-Fal-Request-Timeout`, seconds from `sentAt`), null when none was given. */
  timeoutS: number | null;
  webhookUrl: string | null;
}

/** One captured log line (epoch milliseconds). */
export interface LogLine {
  /** Monotonic id assigned by the store; used as cursor tiebreak and SSE event id. */
  id?: number;
  ts: number;
  owner: string;
  app: string;
  revision: string;
  level: string;
  message: string;
  labels: Record<string, string>;
}

/** Event categories fal uses for app events. */
export const EVENT_CATEGORIES = [
  'runner_started',
  'runner_failed',
  'runner_finished',
  'runner_pending',
  'runner_startup_failure',
  'runner_docker_pull',
  'runner_setup',
  'runner_draining',
  'runner_stopping',
  'deployment_started',
  'deployment_failed',
  'deployment_ended',
  'deployment_rolling_started',
  'deployment_rolling_failed',
  'deployment_rolling_ended',
  'deployment_recreate_applied',
  'config_changed',
] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];

/** An app lifecycle event. */
export interface AppEvent {
  eventId: string;
  owner: string;
  app: string;
  category: EventCategory;
  createdAt: number;
  payload: Record<string, unknown>;
}

/** A sample of how many runners of an app are in each state. */
export interface RunnerSample {
  ts: number;
  owner: string;
  app: string;
  pending: number;
  setup: number;
  idle: number;
  running: number;
  draining: number;
}

/**
 * Machine time of one runner within one wall-clock minute. Writing the same (runner, minute) again
 * replaces the value, so metering is idempotent across restarts.
 */
export interface MeterRecord {
  runnerId: string;
  minute: number;
  owner: string;
  app: string;
  environment: string;
  machineType: string;
  isSurge: boolean;
  seconds: number;
}

/** Pricing and labels of one machine type. */
export interface MachineType {
  /** Price per machine-second, USD. */
  unitPrice: number;
  /** Product label used in Prometheus `machine_type` (e.g. `NVIDIA H100`). */
  gpuLabel: string;
  /** Runners of this type beyond this many concurrently are billed at surge price. */
  reservedRunners: number;
  surgeMultiplier: number;
  /** GPUs a runner of this type gets (0 or absent: none); a manifest's `gpus` overrides it. */
  gpus?: number;
  /** GPU product the cards must be (matched against the inventory's names, e.g. `H100`); null: any. */
  gpuProduct?: string | null;
  /** CPU cores a runner asks for (fractional allowed); null: the driver's default. */
  cpu?: number | null;
  /** Memory a runner asks for, in MiB; null: the driver's default. */
  memoryMb?: number | null;
  /**
   * Placement hints keyed by driver kind, handed to drivers unchanged as `RunnerSpec.placement`
   * (`{ kubernetes: { node_selector, tolerations } }`); null: none.
   */
  placement?: Record<string, unknown> | null;
}

/**
 * A JSON payload kept as the text it arrived in (already checked by parsing it once), so a store can
 * record it without serialising it again. Anything else serialises it to its parsed value.
 */
export class JsonText {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
