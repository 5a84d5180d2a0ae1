// Temporary copy of the redesigned driver port until it is merged from the port branch.

/** What a runner runs: an unpacked app bundle on this node, or a container image. */
export type RunnerArtifact =
  | { kind: 'bundle'; /** `sha256:<hex>` or null for legacy revisions */ digest: string | null; /** unpacked on this node; the runner's working directory */ dir: string; command: string[] }
  | { kind: 'image'; image: string; /** overrides the image's entrypoint+cmd when given */ command: string[] | null };

/** GPUs a runner needs: a count, and a product name when the machine type names one (e.g. `H100`). */
export interface GpuRequest { count: number; product: string | null }

export interface RunnerResources {
  /** CPU cores (fractional allowed), or null for the driver's default. */
  cpu: number | null;
  /** Memory in MiB, or null for the driver's default. */
  memoryMb: number | null;
  gpus: GpuRequest | null;
}

/** Labels every runner carries, so a driver can find runners again (orphan discovery) without pids. */
export interface RunnerLabels { owner: string; app: string; revisionId: string; runnerId: string; /** the Hangar node that started it */ node: string }

export interface RunnerSpec {
  runnerId: string; owner: string; app: string; revisionId: string; machineType: string;
  secrets?: Record<string, string>;
  artifact: RunnerArtifact;
  /** The owner's storage directory on this node, handed to the app as `DATA_DIR` (drivers that run elsewhere may ignore it). */
  dataDir: string;
  env: Record<string, string>;
  resources: RunnerResources;
  /** Path the pool polls for readiness (manifest `health_path`), for drivers that map it to their own probe. */
  healthPath: string;
  labels: RunnerLabels;
  /** Per machine type placement hints (Kubernetes: nodeSelector, tolerations); opaque to the pool. */
  placement: Record<string, unknown> | null;
}

/** Driver-reported steps before the runner's process is up. `SETUP` = the app's process started. */
export type RunnerPhase = 'PENDING' | 'DOCKER_PULL' | 'SETUP';

export interface RunnerHooks {
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** The runner is gone (process exited, Pod deleted/failed/evicted/OOM-killed). `reason` e.g. `OOMKilled`, `Evicted`. */
  onExit(code: number | null, signal: string | null, reason?: string): void;
  /** Lifecycle step reached; called in order, each at most once; SETUP always before start() resolves. */
  onPhase(phase: RunnerPhase, detail?: string): void;
}

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
  /** Optional per-runner GPU usage (memory used MiB, utilisation %) for sampling; absent when the driver can't tell. */
  sampleGpus?(): Promise<{ uuid: string; memoryUsedMb: number; utilizationPct: number }[]>;
}

/** A runner the driver found by its labels (alive, or dead but not yet removed). */
export interface FoundRunner { ref: string; labels: RunnerLabels; alive: boolean }

/** Where runners run: local processes (optionally in a sandbox or a container CLI), Kubernetes Pods. */
export interface RunnerDriver {
  readonly kind: string; // 'process' | 'sandbox' | 'container' | 'kubernetes'
  /** Resolves once the runner's process is started and its URL known (after PENDING/DOCKER_PULL); rejects with a clear error it cannot start (e.g. image apps on a driver without images). */
  start(spec: RunnerSpec, hooks: RunnerHooks): Promise<RunnerHandle>;
  /** Runners carrying Hangar labels of `node` (orphan discovery after a restart). */
  discover(node: string): Promise<FoundRunner[]>;
  /** Removes a found runner (kills it, deletes its Pod/state); idempotent. */
  remove(ref: string): Promise<void>;
  /** Optional: attach to a found live runner instead of removing it (Kubernetes adopts Pods). */
  adopt?(found: FoundRunner, hooks: RunnerHooks): Promise<RunnerHandle | null>;
}
