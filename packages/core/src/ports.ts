import type {
  ApiKeyRecord,
  App,
  AppEvent,
  AppSettings,
  BundleRecord,
  ErrorClass,
  KeyScope,
  LogLine,
  MeterRecord,
  RequestRecord,
  RetryBudgets,
  RetryCondition,
  Revision,
  RunnerSample,
  RunnerState,
  RunnerStateTimes,
} from './domain.js';
import type { RunnerGpuSummary } from './gpu-history.js';
import type { PlatformReads, RollupSink } from './read-ports.js';
import type { GpuUsage } from './runner-port.js';
import type { SecretStore } from './secrets.js';

export * from './runner-port.js';

/** Owners and their keys. Secrets are given in clear only to `createKey`'s caller. */
export interface KeyStore {
  ensureOwner(owner: string): Promise<void>;
  listOwners(): Promise<string[]>;
  /** Stores a key; `secretHash` is the hash of the secret, never the secret. */
  insertKey(key: ApiKeyRecord, secretHash: string): Promise<void>;
  /** Inserts the key, or overwrites every field of the stored key with the same id (a configured admin key). */
  replaceKey(key: ApiKeyRecord, secretHash: string): Promise<void>;
  /** The key and its secret hash, revoked or not; null when unknown. */
  findKey(keyId: string): Promise<{ key: ApiKeyRecord; secretHash: string } | null>;
  listKeys(owner?: string): Promise<ApiKeyRecord[]>;
  revokeKey(keyId: string, at: number): Promise<boolean>;
}

/** One app's stored settings. */
export interface AppSettingsRow {
  owner: string;
  name: string;
  settings: AppSettings;
}

/** Apps and their revisions. */
export interface AppStore {
  getApp(owner: string, name: string): Promise<App | null>;
  listApps(owner?: string): Promise<App[]>;
  /** Records a revision and makes it the app's current one (creating the app if new). */
  putRevision(rev: Revision): Promise<void>;
  setRevisionStatus(revisionId: string, status: Revision['status']): Promise<void>;
  listRevisions(owner: string, app: string): Promise<Revision[]>;
  /** Points the app at one of its recorded revisions. */
  setCurrentRevision(owner: string, name: string, revisionId: string, at: number): Promise<void>;
  /** Forgets one revision (its bundle and the owner's files stay). */
  deleteRevision(owner: string, name: string, revisionId: string): Promise<void>;
  /** Forgets the app, its revisions and settings (bundles, files and events stay). */
  deleteApp(owner: string, name: string): Promise<void>;
  /** The app's scaling overrides and rollout (empty defaults when none were set). */
  getSettings(owner: string, name: string): Promise<AppSettings>;
  putSettings(owner: string, name: string, settings: AppSettings): Promise<void>;
  /** Every app's settings that were ever set, one read (a cluster node compares them with what it runs). */
  listSettings(): Promise<AppSettingsRow[]>;
  /** Records that an owner holds a bundle; a second record of the same owner and digest is ignored. */
  putBundle(rec: BundleRecord): Promise<void>;
  /** The owner's record of a bundle, or null when that owner never uploaded it. */
  getBundle(owner: string, digest: string): Promise<BundleRecord | null>;
}

/** A stored queue result: what the app answered. */
export interface StoredResult {
  statusCode: number;
  contentType: string;
  body: Buffer;
  /**
   * Response headers the platform returns with the answer (`x-fal-error-type`, `x-fal-served-from`, …),
   * lowercase; absent when there are none.
   */
  headers?: Record<string, string>;
}

/** Which unfinished requests `listUnfinished` answers. */
export interface UnfinishedFilter {
  /** The node id that accepted them. */
  acceptedBy?: string;
}

/**
 * Requests, durable from acceptance: `insert` resolves only once the row is committed, so a request
 * that was given an id survives a crash. Updates are micro-batched.
 */
export interface RequestStore {
  insert(rec: RequestRecord, rawInput: Buffer): Promise<void>;
  update(requestId: string, patch: Partial<RequestRecord>): void;
  /** Records completion and keeps the result until `resultExpiresAt`. */
  complete(
    requestId: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    resultExpiresAt: number,
  ): void;
  get(requestId: string): Promise<RequestRecord | null>;
  getResult(requestId: string): Promise<StoredResult | null>;
  /** The raw input of a request not yet completed (needed to run or retry it). */
  getInput(requestId: string): Promise<Buffer | null>;
  /**
   * Requests accepted but not completed, oldest first: the work to resume after a restart. With
   * `acceptedBy`, only those accepted by that node (a database shared by a cluster records the accepting
   * node; a store only one node writes holds that node's requests alone, and answers them all).
   */
  listUnfinished(opts?: UnfinishedFilter): Promise<RequestRecord[]>;
  /**
   * Drops stored results (and raw inputs) that expired before `now`, with their `input`/`result` object
   * references (`PayloadPart`). Returns how many.
   */
  purgeResults(now: number): Promise<number>;
}

/**
 * Parts of a request that may be kept as objects of the `FileStore` instead of in its row (bit flags):
 * the raw input and the recorded `json_input` share the request's `input` object, the stored result and
 * `json_output` its `output` object.
 */
export const PayloadPart = { input: 1, jsonInput: 2, result: 4, jsonOutput: 8 } as const;

/** Which parts of one request live as objects (`PayloadPart` bits), with the request's owner. */
export interface PayloadObjects {
  requestId: string;
  owner: string;
  parts: number;
}

/**
 * A RequestStore whose rows can point at payload objects instead of holding the bytes. `parts` of a
 * write (`PayloadPart` bits) are added to the row's: those payloads were written to the object store,
 * so their values in the write are ignored, and reads give them back empty (`getInput` null, a result
 * with an empty body, null `jsonInput`/`jsonOutput`).
 */
export interface PayloadRowStore extends RequestStore {
  insert(rec: RequestRecord, rawInput: Buffer, parts?: number): Promise<void>;
  complete(
    requestId: string,
    patch: Partial<RequestRecord>,
    result: StoredResult | null,
    resultExpiresAt: number,
    parts?: number,
  ): void;
  /** The request's payload objects; null when the request is unknown. */
  payloadObjects(requestId: string): Promise<PayloadObjects | null>;
  /** Requests whose result expired before `now` still pointing at an input or result object. */
  expiredPayloadObjects(now: number): Promise<PayloadObjects[]>;
}

/**
 * Log lines, appended in batches. Ids are assigned by the store (`append` sets each line's `id`) and
 * increase in commit order: a line committed after another has a larger id, so a reader that saw id N
 * has seen every line with a smaller id once it reads again (log streams resume by id).
 */
export interface LogStore {
  append(lines: LogLine[]): void;
  /** Committed lines of one request, oldest first, with `id` greater than `afterId`. */
  listByRequest(requestId: string, afterId?: number): Promise<LogLine[]>;
}

/** In-process fan-out of new log lines to live subscribers (queue status streams, log tails). */
export interface LogBus {
  publish(lines: readonly LogLine[]): void;
  /** Calls `listener` with every published batch until the returned function is called. */
  subscribe(listener: (lines: readonly LogLine[]) => void): () => void;
}

export interface EventStore {
  append(event: AppEvent): void;
}

export interface MeterStore {
  /** Upserts per (runner, minute): the latest value for that minute wins. */
  record(rows: MeterRecord[]): void;
}

export interface RunnerSampleStore {
  append(samples: RunnerSample[]): void;
}

/** Runners recorded as alive, so a restarted server can reap orphans and close their metering. */
export interface RunnerRegistry {
  upsertRunner(row: RunnerRow): void;
  listLiveRunners(): Promise<RunnerRow[]>;
  /** One runner of `owner`/`app` (alive or ended), or null. */
  findRunner(owner: string, app: string, runnerId: string): Promise<RunnerRow | null>;
}

export interface RunnerRow {
  runnerId: string;
  owner: string;
  app: string;
  revisionId: string;
  machineType: string;
  /** The driver's reference of the runner (`RunnerHandle.ref`: a pid as text, a Pod name), null before start. */
  ref: string | null;
  state: string;
  startedAt: number;
  endedAt: number | null;
  /** Last time machine time was metered for this runner. */
  meteredUntil: number;
  /** When the runner entered `state`. */
  stateSince: number;
  times: RunnerStateTimes;
  /** Its GPUs' sampled usage (runner history); absent or empty when it had none or none was sampled. */
  gpus?: RunnerGpuSummary[];
  /** The node running it (`HANGAR_NODE_ID`); absent on rows written before nodes were recorded. */
  nodeId?: string;
  /** Its meter rows' fixed fields, so another node (the leader) can close its metering when its node dies. */
  environment?: string;
  isSurge?: boolean;
}

/** All stores of one backend, with lifecycle. */
export interface Stores {
  keys: KeyStore;
  apps: AppStore;
  requests: PayloadRowStore;
  logs: LogStore;
  events: EventStore;
  meter: MeterStore;
  samples: RunnerSampleStore;
  runners: RunnerRegistry;
  /** Owners' sealed secrets. */
  secrets: SecretStore;
  /** Analytics rollups of completed requests. */
  rollups: RollupSink;
  /** Every read the Platform API makes. */
  reads: PlatformReads;
  /** Commits everything buffered. */
  flush(): Promise<void>;
  /** Closes the stores and their readers (pending reads fail). */
  close(): Promise<void>;
}

export type { KeyScope };

/** One request handed to the runner pool. */
export interface DispatchRequest {
  requestId: string;
  owner: string;
  app: string;
  /** Route-level endpoint id, sent to the runner as `x-fal-endpoint`. */
  endpointId: string;
  /** Path forwarded to the runner, e.g. `/` or `/turbo` (with query string if any). */
  path: string;
  method: string;
  /** Request headers to forward (hop-by-hop and `authorization` already removed). */
  headers: Record<string, string>;
  body: Buffer;
  /** Lower runs after every normal request queued for the same app. */
  priority: 'normal' | 'low';
  /** Running limit of one attempt once started (the manifest's `request_timeout`), ms. */
  timeoutMs: number;
  /**
   * Start deadline (epoch ms, from `X-Fal-Request-Timeout`), or null: a request not started on a runner by
   * then ends with 504 and `X-Fal-Request-Timeout-Type: user`; it is never checked once an attempt started.
   */
  startDeadline: number | null;
  /** Set by `X-Fal-No-Retry`, and for direct calls (`/run`, stream, realtime): a failed attempt is not retried. */
  noRetry: boolean;
  /** The caller's per-condition retry budgets (`X-Fal-Retry-Config`, honoured for the app's owner), or null. */
  retryBudgets: RetryBudgets | null;
  /** `X-Fal-Runner-Hint`: prefer a free runner that reported this hint, else any free runner. */
  runnerHint: string | null;
  /** When the request was accepted (epoch ms); orders the queue and measures prepare time. */
  sentAt: number;
  /** Called when an attempt starts on a runner (may be called again on retry). */
  onStart?: (info: DispatchStart) => void;
  /** Set for sync calls: where a streamed answer goes as the runner writes it (see `ResponseStream`). */
  stream?: ResponseStream;
  /**
   * Holds the runner instead of sending an HTTP request: called with the runner's base URL
   * (`http://host:port`) and the request id once a slot is free, and the slot stays taken until the returned promise
   * settles with the outcome to record (a WebSocket connection's life). Never retried.
   */
  hold?: (runnerUrl: string, requestId: string) => Promise<HeldOutcome>;
  /**
   * Attempts and retries made before this dispatch on other nodes (cluster queue): they count against the
   * attempt ceiling and the per-condition budgets. Absent: none.
   */
  prior?: { attempts: number; retriesBy: Record<RetryCondition, number> };
}

/** What a held runner slot recorded when it was released. */
export interface HeldOutcome {
  /** 101 for a connection that was upgraded, else the status the runner or the platform answered. */
  statusCode: number;
  /** JSON summary stored as the request's output. */
  body: Buffer;
}

/**
 * The caller's end of a streamed answer. A runner answer streams when it is `text/event-stream` or has
 * no `content-length` (and is not a 503, which is retried): from `open` on the answer belongs to the
 * caller, so the attempt is never retried, and the dispatch result carries no body.
 */
export interface ResponseStream {
  /** The runner's status and headers (hop-by-hop removed), before any chunk. */
  open(statusCode: number, headers: Record<string, string>, control: StreamControl): void;
  /** One body chunk as the runner wrote it; false asks the dispatcher to pause until `control.resume()`. */
  write(chunk: Buffer): boolean;
  /** The runner finished the body. */
  end(): void;
  /** The runner's side broke (connection lost, timeout): the caller's answer cannot be completed. */
  fail(): void;
}

/** What the caller's end of a stream may ask of the runner's. */
export interface StreamControl {
  /** The caller went away: closes the runner's connection; the request ends cancelled. */
  abort(): void;
  /** The caller drained what it was sent: reading from the runner continues. */
  resume(): void;
}

export interface DispatchStart {
  runnerId: string;
  startedAt: number;
  coldStart: boolean;
  coldBootMs: number | null;
  attempt: number;
}

/** The outcome of a dispatched request: the app's answer, or an error the platform generated. */
export interface DispatchResult {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
  runnerId: string | null;
  startedAt: number | null;
  endedAt: number;
  coldStart: boolean;
  coldBootMs: number | null;
  /** From the app's `x-fal-billable-units` header, else null (the recorder falls back to seconds). */
  billableUnits: number | null;
  errorClass: ErrorClass | null;
  attempts: number;
  /** True when the request was cancelled while queued. */
  cancelled: boolean;
  /** Set when the node that ran it (cluster queue) already recorded the completion in the request store. */
  recorded?: boolean;
}

/** Live figures of one app, for queue size and Prometheus gauges. */
export interface AppLiveStats {
  owner: string;
  app: string;
  machineType: string;
  queueSize: number;
  inFlight: number;
  runners: Record<RunnerState, number>;
  /** Retries made since start, by condition (absent from dispatchers that do not retry). */
  retries?: Record<RetryCondition, number>;
  /** Attempts of requests with `X-Fal-Runner-Hint` since start, on a runner with that hint (hits) or not. */
  hintHits?: number;
  hintMisses?: number;
  /** Last sampled usage of each GPU held by a runner of the app (absent or empty: none sampled). */
  gpus?: RunnerGpuUsage[];
  /**
   * Seconds runners spent in each state, observed as they left it since the server started: per-bucket
   * counts (not cumulative, the last one `+Inf`; bounds are the server's), sum and count.
   */
  stateSeconds?: Partial<Record<RunnerState, { buckets: number[]; sum: number; count: number }>>;
}

/** One GPU's last sampled usage, with the runner holding it. */
export interface RunnerGpuUsage extends GpuUsage {
  runnerId: string;
}

/** The runner pool as the gateway sees it. */
export interface Dispatcher {
  /** Queues the request for the app and resolves with its outcome; never rejects for app failures. */
  dispatch(req: DispatchRequest): Promise<DispatchResult>;
  /** Removes a still-queued request (resolving it as cancelled); false if it already started or is unknown. */
  cancelQueued(requestId: string): boolean | Promise<boolean>;
  /** Signals an in-progress request's runner at `<path>/cancel`; false if not running. */
  cancelRunning(requestId: string): Promise<boolean>;
  /** Removes every queued request of the app; returns their ids. */
  flushQueue(owner: string, app: string): string[] | Promise<string[]>;
  /** Requests ahead of this one in its app's queue (0-based); null when not queued (a cluster queue answers async). */
  queuePosition(requestId: string): number | null | Promise<number | null>;
  stats(owner?: string): AppLiveStats[];
}
