import type { HttpTransport } from '../http.js';
import { asQuery, encodePath, paginate } from '../paging.js';
import type {
  AppEventCategory,
  AppEventsResponse,
  AppRevisionsResponse,
  RunnerHistoryResponse,
  ServerlessApp,
  TimeBound,
  Timeframe,
} from '../types.js';
import { countBytes, type ProgressFn } from './files.js';

/** Body of a deploy: a bundle the owner uploaded (`sha256:<hex>`) plus optional manifest fields. */
export interface DeployInput {
  bundle: string;
  message?: string | undefined;
  annotations?: Record<string, string> | undefined;
  [field: string]: unknown;
}

/** The revision a deploy created. */
export interface DeployResult {
  endpoint_id: string;
  revision_id: string;
  created_at: string;
  status: string;
}

/** A bundle the caller's owner holds. */
export interface BundleInfo {
  bundle: string;
  /** Compressed size in bytes. */
  size: number;
  created_at: string;
}

/** Options of a bundle upload. */
export interface BundleUploadOptions {
  /** Byte size of a streamed body, for progress totals. */
  size?: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** Parameters of the apps list. */
export interface ListAppsQuery {
  environment?: string;
  search?: string;
  expand?: 'endpoints' | 'endpoints'[];
}

/** Parameters of runner history. */
export interface RunnerHistoryQuery {
  start?: TimeBound;
  end?: TimeBound;
  timeframe?: Timeframe;
  aggregation?: 'max' | 'avg';
}

/** Parameters of app events. */
export interface AppEventsQuery {
  start?: TimeBound;
  end?: TimeBound;
  category?: AppEventCategory | AppEventCategory[];
  limit?: number;
  cursor?: string;
}

/** Parameters of app revisions. */
export interface AppRevisionsQuery {
  limit?: number;
  cursor?: string;
}

/** `/v1/serverless/apps/{owner}/{name}` for an `owner/name` app id. */
function appPath(appId: string, rest: string): string {
  const [owner = '', name = ''] = appId.replace(/^\/+/, '').split('/');
  return `/v1/serverless/apps/${encodePath(owner)}/${encodePath(name)}${rest}`;
}

/** The Apps API: discovery, queues, runners, events, revisions and deploys. */
export function createApps(http: HttpTransport) {
  const events = (appId: string, query: AppEventsQuery = {}) =>
    http.json<AppEventsResponse>('GET', appPath(appId, '/events'), { query: asQuery(query) });
  const revisions = (appId: string, query: AppRevisionsQuery = {}) =>
    http.json<AppRevisionsResponse>('GET', appPath(appId, '/revisions'), { query: asQuery(query) });
  return {
    /** The caller's apps (with route-level endpoint ids when `expand: 'endpoints'`). */
    list: (query: ListAppsQuery = {}) =>
      http.json<{ apps: ServerlessApp[] }>('GET', '/v1/serverless/apps', { query: asQuery(query) }),
    /** How many requests wait in an app's queue. */
    queueSize: (appId: string) => http.json<{ queue_size: number }>('GET', appPath(appId, '/queue')),
    /** Cancels every queued (not running) request of an app; an idempotency key makes retries safe. */
    flushQueue: (appId: string, opts: { idempotencyKey?: string } = {}) =>
      http.json<void>('DELETE', appPath(appId, '/queue'), {
        headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : undefined,
      }),
    /** Runner counts by state over time, oldest bucket first. */
    runnerHistory: (appId: string, query: RunnerHistoryQuery = {}) =>
      http.json<RunnerHistoryResponse>('GET', appPath(appId, '/runners/history'), { query: asQuery(query) }),
    /** One page of lifecycle events, newest first. */
    events,
    /** Every event in the window, across pages. */
    iterateEvents: (appId: string, query: Omit<AppEventsQuery, 'cursor'> = {}) =>
      paginate(
        (cursor) => events(appId, { ...query, cursor }),
        (p) => p.events,
      ),
    /** One page of revisions, newest first. */
    revisions,
    /** Every revision, across pages. */
    iterateRevisions: (appId: string, query: Omit<AppRevisionsQuery, 'cursor'> = {}) =>
      paginate(
        (cursor) => revisions(appId, { ...query, cursor }),
        (p) => p.revisions,
      ),
    /** Deploys an uploaded bundle as a new revision (ADMIN key). */
    deploy: (input: DeployInput) => http.json<DeployResult>('POST', '/v1/serverless/apps', { body: input }),
    /** The caller's owner's record of a bundle, or null when it never uploaded that digest (ADMIN key). */
    async getBundle(digest: string): Promise<BundleInfo | null> {
      const res = await http.raw('GET', `/v1/serverless/bundles/${encodePath(digest)}`, {
        allowStatus: [404],
      });
      return res.status === 404 ? null : ((await res.json()) as BundleInfo);
    },
    /** Uploads a gzip'd tar bundle (streamed, with progress); the server answers its digest (ADMIN key). */
    uploadBundle(data: Blob | ReadableStream<Uint8Array>, opts: BundleUploadOptions = {}) {
      const body = data instanceof Blob ? data : countBytes(data, opts.size ?? null, opts.onProgress);
      const headers = { 'content-type': 'application/gzip' };
      return http.json<BundleInfo>('POST', '/v1/serverless/bundles', { body, headers, signal: opts.signal });
    },
  };
}

/** The apps client. */
export type AppsApi = ReturnType<typeof createApps>;
