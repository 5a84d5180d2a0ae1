/** The runner driver port: what a runner runs and asks for, and how a driver starts, finds and stops runners. */

/** What a runner runs: an unpacked app bundle on this node, or a container image. */
export type RunnerArtifact =
  | {
      kind: 'bundle';
      /** `sha256:<hex>` of the bundle, or null for revisions recorded before bundles. */
      digest: string | null;
      /** Unpacked on this node; the runner's working directory. */
      dir: string;
      command: string[];
    }
  | {
      kind: 'image';
      image: string;
      /** Overrides the image's entrypoint and cmd when given. */
      command: string[] | null;
    };

/** GPUs a runner needs: a count, and a product name when the machine type names one (e.g. `H100`). */
export interface GpuRequest {
  count: number;
  product: string | null;
}

/** What a runner asks of the machine it runs on. */
export interface RunnerResources {
  /** CPU cores (fractional allowed), or null for the driver's default. */
  cpu: number | null;
  /** Memory in MiB, or null for the driver's default. */
  memoryMb: number | null;
  gpus: GpuRequest | null;
}

/** Labels every runner carries, so a driver can find runners again (orphan discovery) without pids. */
export interface RunnerLabels {
  owner: string;
  app: string;
  revisionId: string;
  runnerId: string;
  /** The Hangar node that started it (`HANGAR_NODE_ID`). */
  node: string;
}

/** What a driver needs to start one runner. */
export interface RunnerSpec {
  runnerId: string;
  owner: string;
  app: string;
  revisionId: string;
  machineType: string;
  artifact: RunnerArtifact;
  /** The owner's storage directory on this node, handed to the app as `DATA_DIR` (drivers that run elsewhere may ignore it). */
  dataDir: string;
  env: Record<string, string>;
  resources: RunnerResources;
  /** Path the pool polls for readiness (manifest `health_path`), for drivers that map it to their own probe. */
  healthPath: string;
  labels: RunnerLabels;
  /** Per machine type placement hints (Kubernetes: `node_selector`, `tolerations`); opaque to the pool. */
  placement: Record<string, unknown> | null;
  /**
   * The owner's secrets as environment variables, apart from `env` so a driver can keep them out of
   * plain specs (a Kubernetes Secret); process drivers merge them over `env`, under the platform's own.
   */
  secrets: Record<string, string>;
}

/** Driver-reported steps before the runner's process is up. `SETUP` = the app's process started. */
export type RunnerPhase = 'PENDING' | 'DOCKER_PULL' | 'SETUP';

/** Callbacks a driver reports a runner's output, steps and end through. */
export interface RunnerHooks {
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** The runner is gone (process exited, Pod deleted/failed/evicted/OOM-killed); `reason` e.g. `OOMKilled`, `Evicted`. */
  onExit(code: number | null, signal: string | null, reason?: string): void;
  /** Lifecycle step reached; called in order, each at most once; `SETUP` always before `start()` resolves. */
  onPhase(phase: RunnerPhase, detail?: string): void;
}

/** A started runner. */
export interface RunnerHandle {
  readonly runnerId: string;
  /** Base URL the runner serves HTTP on (`http://127.0.0.1:41234`, a Pod IP, …). */
  readonly url: string;
  /** Opaque driver reference (a pid as text, a Pod name) recorded in runner history. */
  readonly ref: string;
  /** GPUs given to this runner (indexes or UUIDs as the driver knows them), empty when none. */
  readonly gpus: readonly string[];
  /** Graceful stop (SIGTERM / Pod delete with grace), forced after `graceMs`; resolves when gone. */
  stop(graceMs: number): Promise<void>;
  /** Immediate forced stop. */
  kill(): void;
  /** Per-runner GPU usage for sampling; absent when the driver cannot tell. */
  sampleGpus?(): Promise<GpuUsage[]>;
  /**
   * Whether the listener at `url` belongs to this runner's processes. A runner is ready only when this
   * holds besides its health probe, so a port another process took first is never mistaken for the app.
   * Absent when the driver's own forward or network holds the port (it would fail to start instead).
   */
  listenerIsOurs?(): Promise<boolean>;
}

/** One GPU's usage as sampled for the runner holding it. */
export interface GpuUsage {
  uuid: string;
  memoryUsedMb: number;
  utilizationPct: number;
}

/** A runner the driver found by its labels (alive, or dead but not yet removed). */
export interface FoundRunner {
  ref: string;
  labels: RunnerLabels;
  alive: boolean;
}

/** Where runners run: local processes (optionally in a sandbox or a container CLI), Kubernetes Pods. */
export interface RunnerDriver {
  /** `process`, `sandbox`, `container` or `kubernetes`. */
  readonly kind: string;
  /** True when `start` runs image artifacts (absent: it refuses them with `RUNNER_IMAGE_UNSUPPORTED`). */
  readonly runsImages?: boolean;
  /**
   * Resolves once the runner's process is started and its URL known (after `PENDING`/`DOCKER_PULL`);
   * rejects with a clear error when it cannot start (e.g. image apps on a driver without images).
   * Aborting `signal` before it resolves (the pool gave up on the runner, e.g. scale-down while it
   * waits for GPUs) makes it reject and leave nothing behind.
   */
  start(spec: RunnerSpec, hooks: RunnerHooks, signal?: AbortSignal): Promise<RunnerHandle>;
  /** Runners carrying Hangar labels of `node` (orphan discovery after a restart). */
  discover(node: string): Promise<FoundRunner[]>;
  /** Removes a found runner (kills it, deletes its Pod/state); idempotent. */
  remove(ref: string): Promise<void>;
  /** Attaches to a found live runner instead of removing it (Kubernetes adopts Pods). */
  adopt?(found: FoundRunner, hooks: RunnerHooks): Promise<RunnerHandle | null>;
}
