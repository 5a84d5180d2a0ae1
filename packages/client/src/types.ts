// Wire shapes of fal's Platform API ("Platform APIs for Serverless Apps") and Queue API, transcribed
// from fal's OpenAPI document; snake_case as on the wire.

/** A `start`/`end` bound: RFC 3339 date-time or `YYYY-MM-DD`. */
export type TimeBound = string;

/** Bucket size of a time series. */
export type Timeframe = 'minute' | 'hour' | 'day' | 'week' | 'month';

/** The cursor fields every paged response carries. */
export interface Paged {
  next_cursor: string | null;
  has_more: boolean;
}

/** A file or folder of the caller's storage. */
export interface FileEntry {
  path: string;
  name: string;
  created_time: string;
  updated_time: string;
  is_file: boolean;
  size: number;
  checksum_sha256?: string;
  checksum_md5?: string;
}

/** One recorded request of an endpoint the caller owns. */
export interface ServerlessRequestItem {
  request_id: string;
  endpoint_id: string;
  started_at: string;
  sent_at: string;
  runner_id: string | null;
  ended_at?: string | null;
  status_code?: number | null;
  duration?: number | null;
  json_input?: unknown;
  json_output?: unknown;
  billable_units?: number | null;
}

/** A page of `GET /serverless/requests/by-endpoint`. */
export interface ListRequestsResponse extends Paged {
  items: ServerlessRequestItem[];
}

/** One priced usage line (machine-seconds of one app and machine type). */
export interface UsageRow {
  app: string | null;
  environment: string | null;
  machine_type: string;
  unit: string;
  quantity: number;
  unit_price: number;
  percent_discount: number | null;
  cost_subtotal: number;
  cost_discount: number;
  cost_total: number;
  /** @deprecated equals `cost_total` */
  cost: number;
  currency: string;
  is_surge: boolean;
}

/** A page of `GET /serverless/usage`. */
export interface UsageResponse extends Paged {
  time_series?: { bucket: string; results: UsageRow[] }[];
  summary?: UsageRow[];
}

/** Condition of a log label filter. */
export type LabelCondition = 'equals' | 'in' | 'not_equals' | 'not_in';

/** A label filter of the logs operations' body. */
export interface LabelFilter {
  key: string;
  value: string | string[];
  condition_type?: LabelCondition;
}

/** One log line. */
export interface LogEntry {
  timestamp: string;
  level: string;
  message: string;
  app: string;
  revision: string;
  labels?: Record<string, string>;
}

/** A page of `POST /serverless/logs/history` (newest first). */
export interface LogsHistoryResponse extends Paged {
  items: LogEntry[];
}

/** Every metric name `GET /serverless/analytics` accepts in `expand`. */
export const ANALYTICS_METRICS = [
  'request_count',
  'success_count',
  'user_error_count',
  'error_count',
  'startup_error_count',
  'connection_error_count',
  'timeout_error_count',
  'runtime_error_count',
  'p50_prepare_duration',
  'p75_prepare_duration',
  'p90_prepare_duration',
  'p95_prepare_duration',
  'p99_prepare_duration',
  'p25_duration',
  'p50_duration',
  'p75_duration',
  'p90_duration',
  'p95_duration',
  'p99_duration',
  'cold_boot_count',
  'p50_cold_boot_duration',
  'p75_cold_boot_duration',
  'p90_cold_boot_duration',
  'total_billable_duration',
] as const;

/** An analytics metric name. */
export type AnalyticsMetric = (typeof ANALYTICS_METRICS)[number];

/** Metrics of one endpoint in one bucket (only the requested ones are present). */
export type AnalyticsRecord = { endpoint_id: string } & Partial<Record<AnalyticsMetric, number>>;

/** A page of `GET /serverless/analytics`. */
export interface AnalyticsResponse extends Paged {
  time_series?: { bucket: string; results: AnalyticsRecord[] }[];
  summary?: AnalyticsRecord[];
}

/** A deployed app as `GET /serverless/apps` lists it. */
export interface ServerlessApp {
  endpoint_id: string;
  name: string;
  owner: string;
  environment: string;
  machine_type: string;
  auth_mode: 'private' | 'public' | 'shared';
  keep_alive: number;
  min_concurrency: number;
  max_concurrency: number;
  request_timeout: number;
  startup_timeout: number;
  valid_regions: string[];
  updated_at: string;
  endpoints?: string[];
}

/** Runner counts by state over time. */
export interface RunnerHistoryResponse {
  endpoint_id: string;
  timeframe: Timeframe;
  aggregation: 'max' | 'avg';
  history: { timestamp: string; running: number; idle: number; pending: number; draining: number }[];
}

/** Categories of app events. */
export const APP_EVENT_CATEGORIES = [
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

/** An app event category. */
export type AppEventCategory = (typeof APP_EVENT_CATEGORIES)[number];

/** One event of an app's lifecycle. */
export interface AppEvent {
  event_id: string;
  category: AppEventCategory | string;
  created_at: string;
  payload: {
    job_id?: string;
    machine_type?: string;
    reason?: string;
    state?: string;
    new_application_id?: string;
    old_application_id?: string;
    old_config?: Record<string, unknown>;
    new_config?: Record<string, unknown>;
    old_app_auth_mode?: string;
    new_app_auth_mode?: string;
    actor?: { nickname?: string; full_name?: string };
  };
}

/** A page of app events (newest first). */
export interface AppEventsResponse extends Paged {
  endpoint_id: string;
  events: AppEvent[];
}

/** One revision of an app. */
export interface AppRevision {
  revision_id: string;
  created_at: string;
  is_current: boolean;
  message: string | null;
  annotations: Record<string, string> | null;
  status: 'deployed' | 'failed' | 'deploying' | null;
  deployed_by: string | null;
}

/** A page of app revisions (newest first). */
export interface AppRevisionsResponse extends Paged {
  endpoint_id: string;
  revisions: AppRevision[];
}

/** A log line as the queue status carries it. */
export interface QueueLog {
  message: string;
  level?: string;
  source?: string;
  timestamp: string;
  labels?: Record<string, string>;
}

/** The status of a queued request. */
export interface QueueStatus {
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';
  request_id: string;
  response_url: string;
  status_url: string;
  cancel_url: string;
  queue_position?: number;
  logs?: QueueLog[] | null;
  metrics?: { inference_time?: number | null };
  error?: string;
  error_type?: string;
}
