import type { AppManifest, EventCategory, MeterRecord, RevisionStatus } from './domain.js';
import type { UsageRow } from './pricing.js';
import type { LogReads } from './read-ports-logs.js';
import type { TimeWindow } from './time.js';

export * from './read-ports-logs.js';

// The read side of the stores: one method per read the Platform API makes. Every backend implements it
// (SQLite on read-only worker threads, PostgreSQL, memory) and one contract suite, seeded through the
// write ports, proves them alike. Pages the routes send as they are come back serialised (`json`), so a
// backend can build the body off the gateway's thread; the shape of that text is given by a type here.

// ---------------------------------------------------------------------------------------------- requests

/** A requested endpoint: `bare` ids (`owner/app`) also cover the app's route-level endpoints. */
export interface EndpointSelector {
  id: string;
  bare: boolean;
}

/** Where a listing page starts: after the item with this sort key and id, in phase `d` (done) or `o` (open). */
export interface RequestPosition {
  phase: 'd' | 'o';
  key: number;
  id: string;
}

/** Parameters of a requests page (already validated by the route). */
export interface ListRequestsParams {
  endpoints: EndpointSelector[];
  startMs: number;
  endMs: number;
  status: 'success' | 'error' | 'user_error' | null;
  requestId: string | null;
  sortBy: 'ended_at' | 'duration';
  limit: number;
  after: RequestPosition | null;
  /** Items skipped before the page (fal's page-number cursors); 0 (the default) with `after`. */
  offset?: number;
  payloads: boolean;
  billing: boolean;
}

/** One item in fal's `ServerlessRequestItem` shape, as `RequestsPage.json` holds it. */
export interface RequestItem {
  request_id: string;
  endpoint_id: string;
  started_at: string;
  sent_at: string;
  ended_at: string | null;
  status_code: number | null;
  duration: number | null;
  runner_id: string | null;
  /** With `payloads`: the recorded input as stored (JSON), null when none. */
  json_input?: unknown;
  json_output?: unknown;
  /** With `billing`. */
  billable_units?: number | null;
}

/** A payload held as an object of the payload store, to be spliced into a serialised page at offset `at`. */
export interface PayloadAt {
  at: number;
  owner: string;
  requestId: string;
  which: 'input' | 'output';
}

/**
 * A requests page serialised by the store: `json` is `{"items":[...]}` (`RequestItem`s; stored payloads
 * spliced in as the text they were stored as), still missing the payloads kept as objects (`objects`, in
 * offset order), which the caller reads from the object store. `next` is where the next page starts.
 */
export interface RequestsPage {
  json: string;
  objects: PayloadAt[];
  next: RequestPosition | null;
}

// --------------------------------------------------------------------------------- analytics and usage

/** Every metric fal's analytics accepts in `expand`, in the document's order. */
export const ANALYTICS_METRICS = [
  'request_count',
  'success_count',
  'user_error_count',
  'error_count',
  'p50_prepare_duration',
  'p75_prepare_duration',
  'p90_prepare_duration',
  'p95_prepare_duration',
  'p99_prepare_duration',
  'p50_duration',
  'p75_duration',
  'p90_duration',
  'p25_duration',
  'p95_duration',
  'p99_duration',
  'startup_error_count',
  'connection_error_count',
  'timeout_error_count',
  'runtime_error_count',
  'cold_boot_count',
  'p50_cold_boot_duration',
  'p75_cold_boot_duration',
  'p90_cold_boot_duration',
  'total_billable_duration',
] as const;

/** One metric of fal's analytics. */
export type AnalyticsMetric = (typeof ANALYTICS_METRICS)[number];

/** One analytics record: the endpoint and the requested metrics (a percentile without samples is null). */
export type AnalyticsRecord = { endpoint_id: string } & Partial<Record<AnalyticsMetric, number | null>>;

/** Parameters of an analytics page (already validated by the route). */
export interface AnalyticsParams {
  endpoints: EndpointSelector[];
  window: TimeWindow;
  /** Start of the first bucket of this page (from the cursor), else the window start. */
  fromMs: number | null;
  limit: number;
  metrics: AnalyticsMetric[];
  timeSeries: boolean;
  summary: boolean;
}

/** An analytics page and the start of the next page's first bucket. */
export interface AnalyticsResult {
  time_series?: { bucket: string; results: AnalyticsRecord[] }[];
  summary?: AnalyticsRecord[];
  nextBucket: number | null;
}

/** Price inputs of one machine type. */
export interface MachinePrice {
  unitPrice: number;
  surgeMultiplier: number;
}

/** Parameters of a usage page (already validated by the route). */
export interface UsageParams {
  owner: string;
  /** Exact app names (owner prefix stripped), or null for all. */
  apps: string[] | null;
  /** Case-insensitive substring of the app name, or null. */
  search: string | null;
  window: TimeWindow;
  fromMs: number | null;
  limit: number;
  timeSeries: boolean;
  summary: boolean;
  prices: Record<string, MachinePrice>;
  percentDiscount: number | null;
  currency: string;
  /**
   * Running runners' meter rows up to now, as the supervisor would write them (whole time per runner and
   * minute). They replace the stored rows of the same runner and minute, so the open minute is live.
   */
  live?: MeterRecord[];
}

/** A usage page and the start of the next page's first bucket. */
export interface UsageResult {
  time_series?: { bucket: string; results: UsageRow[] }[];
  summary?: UsageRow[];
  nextBucket: number | null;
}

/**
 * A bucketed page serialised by the store: `json` is the result (`AnalyticsResult` or `UsageResult`)
 * without `nextBucket`, as `JSON.stringify` writes it; big answers then reach the socket as one string.
 */
export interface SerializedPage {
  json: string;
  nextBucket: number | null;
}

/** A bucketed result as a `SerializedPage` (what a store that builds the result as objects returns). */
export function serializePage(result: AnalyticsResult | UsageResult): SerializedPage {
  const { nextBucket, ...data } = result;
  return { json: JSON.stringify(data), nextBucket };
}

// ------------------------------------------------------------------------------------------------- apps

/** A keyset position in a newest-first listing: strictly before (time `t`, key `k`). */
export type KeysetBefore = { t: number; k: string } | null;

/** An app with its current manifest merged with its scaling overrides, as `apps.list` returns it. */
export interface AppListItem {
  owner: string;
  name: string;
  updated_at: number;
  /** The current revision's manifest with the app's scaling overrides applied. */
  manifest: AppManifest;
}

/** A revision with whether it is current. */
export interface RevisionItem {
  revision_id: string;
  created_at: number;
  message: string | null;
  annotations: Record<string, string> | null;
  status: RevisionStatus | null;
  deployed_by: string | null;
  is_current: boolean;
}

/** A stored app event. */
export interface EventItem {
  event_id: string;
  category: EventCategory;
  created_at: number;
  payload: Record<string, unknown>;
}

/** Runner samples aggregated per fixed-width bucket: maxima, sums and the sample count. */
export interface RunnerSampleBucket {
  /** Bucket index counted from `origin`. */
  b: number;
  n: number;
  max_running: number;
  max_idle: number;
  max_pending: number;
  max_draining: number;
  sum_running: number;
  sum_idle: number;
  sum_pending: number;
  sum_draining: number;
}

/** Requests served by one revision's runners. */
export interface RevisionTraffic {
  revision_id: string;
  requests: number;
}

/** Params of `apps.revisions`: newest first, strictly after `before`, one extra row when more exist. */
export interface AppRevisionsParams {
  owner: string;
  app: string;
  before: KeysetBefore;
  limit: number;
  /** Rows skipped first (fal's page-number cursors). */
  offset?: number;
}

/** Params of `apps.events`: events in [start, end), newest first, one extra row when more exist. */
export interface AppEventsParams {
  owner: string;
  app: string;
  start: number;
  end: number;
  /** Categories to keep, or null for all. */
  categories: string[] | null;
  before: KeysetBefore;
  limit: number;
  /** Rows skipped first (fal's page-number cursors). */
  offset?: number;
}

/** Params of `apps.runnerBuckets`: samples in [start, end) in buckets of `width` ms from `origin`. */
export interface RunnerBucketsParams {
  owner: string;
  app: string;
  start: number;
  end: number;
  origin: number;
  width: number;
}

/** App reads: listing, history and traffic. */
export interface AppReads {
  /** The owner's apps in one environment, by name, optionally whose name contains `search` (any case). */
  list(p: { owner: string; environment: string; search: string | null }): Promise<AppListItem[]>;
  exists(p: { owner: string; app: string }): Promise<boolean>;
  /** Revisions by (created_at, revision_id) descending, `limit + 1` at most. */
  revisions(p: AppRevisionsParams): Promise<RevisionItem[]>;
  /** Events by (created_at, event_id) descending, `limit + 1` at most. */
  events(p: AppEventsParams): Promise<EventItem[]>;
  /** Buckets holding samples, in bucket order (`pending` counts pending and setup runners). */
  runnerBuckets(p: RunnerBucketsParams): Promise<RunnerSampleBucket[]>;
  /**
   * Requests of the app (and its route-level endpoints) sent since `since`, counted by the revision of the
   * runner that served them, most first then by revision id; requests never started are not counted.
   */
  revisionTraffic(p: { owner: string; app: string; since: number }): Promise<RevisionTraffic[]>;
}

// -------------------------------------------------------------------------------------------- the port

/** Every read the Platform API makes, typed, of one backend. */
export interface PlatformReads {
  /** Requests of the selected endpoints: completed newest (or longest) first, then in-flight ones. */
  requestsPage(p: ListRequestsParams): Promise<RequestsPage>;
  /** Analytics from the request rollups, bucketed in the window's zone and/or summarised. */
  analyticsPage(p: AnalyticsParams): Promise<SerializedPage>;
  /** Machine-time usage of one owner's apps, priced, bucketed and/or summarised. */
  usagePage(p: UsageParams): Promise<SerializedPage>;
  logs: LogReads;
  apps: AppReads;
}

// -------------------------------------------------------------------------------------------- rollups

/** Counts of one analytics rollup cell, named like the `request_rollups` columns. */
export interface RollupCounts {
  request_count: number;
  success_count: number;
  user_error_count: number;
  error_count: number;
  startup_error_count: number;
  connection_error_count: number;
  timeout_error_count: number;
  runtime_error_count: number;
  cold_boot_count: number;
  duration_sum_ms: number;
}

/** One (endpoint, UTC minute) analytics rollup, ready to merge into the stored ones. */
export interface RollupRow extends RollupCounts {
  endpoint_id: string;
  /** Epoch ms of the UTC minute start. */
  minute: number;
  /** Encoded `QuantileSketch`es of milliseconds, null when the cell has no sample. */
  prepare_sketch: Uint8Array | null;
  duration_sketch: Uint8Array | null;
  cold_boot_sketch: Uint8Array | null;
}

/** Where analytics rollups go: merged into the stored minute, quarter-hour, hour and UTC-day cells. */
export interface RollupSink {
  /** Merges drained per-minute rows into the stored rollups (a late row for a stored minute adds to it). */
  record(rows: RollupRow[]): void;
  /**
   * Recomputes rollups from the request rows for requests that ended in the last `windowMs` before the
   * latest recorded end: what a crash may have left undrained. Returns the number of requests folded.
   */
  rebuildRecent(windowMs: number): Promise<number>;
}
