import type { HttpTransport } from '../http.js';
import { asQuery, paginate } from '../paging.js';
import type {
  AnalyticsMetric,
  AnalyticsResponse,
  ListRequestsResponse,
  TimeBound,
  Timeframe,
  UsageResponse,
} from '../types.js';

/** Parameters of `GET /serverless/requests/by-endpoint`. */
export interface RequestsQuery {
  /** 1–50 endpoint ids; a bare `owner/app` includes its routes. */
  endpoint_id: string | string[];
  limit?: number;
  cursor?: string;
  start?: TimeBound;
  end?: TimeBound;
  status?: 'success' | 'error' | 'user_error';
  request_id?: string;
  expand?: ('payloads' | 'billing')[] | 'payloads' | 'billing';
  sort_by?: 'ended_at' | 'duration';
}

/** Time window and bucketing shared by usage and analytics. */
export interface WindowQuery {
  limit?: number;
  cursor?: string;
  start?: TimeBound;
  end?: TimeBound;
  /** IANA name, e.g. `Europe/Paris` (default UTC). */
  timezone?: string;
  timeframe?: Timeframe;
  bound_to_timeframe?: 'true' | 'false';
}

/** Parameters of `GET /serverless/usage` (ADMIN key). */
export interface UsageQuery extends WindowQuery {
  app?: string | string[];
  search?: string;
  expand?: ('time_series' | 'summary')[] | 'time_series' | 'summary';
}

/** Parameters of `GET /serverless/analytics`. */
export interface AnalyticsQuery extends WindowQuery {
  endpoint_id: string | string[];
  /** `time_series` and/or `summary`, plus at least one metric name. */
  expand?: ('time_series' | 'summary' | AnalyticsMetric)[];
}

/** Requests, usage, analytics and Prometheus metrics: what the platform recorded. */
export function createReports(http: HttpTransport) {
  const byEndpoint = (query: RequestsQuery) =>
    http.json<ListRequestsResponse>('GET', '/v1/serverless/requests/by-endpoint', { query: asQuery(query) });
  return {
    requests: {
      /** One page of requests to endpoints the caller owns. */
      byEndpoint,
      /** Every matching request, across pages. */
      iterate: (query: Omit<RequestsQuery, 'cursor'>) =>
        paginate(
          (cursor) => byEndpoint({ ...query, cursor }),
          (p) => p.items,
        ),
    },
    usage: {
      /** Priced machine-seconds by bucket and/or summed over the window. */
      get: (query: UsageQuery = {}) =>
        http.json<UsageResponse>('GET', '/v1/serverless/usage', { query: asQuery(query) }),
    },
    analytics: {
      /** Request counts, error counts and latency percentiles of endpoints the caller owns. */
      get: (query: AnalyticsQuery) =>
        http.json<AnalyticsResponse>('GET', '/v1/serverless/analytics', { query: asQuery(query) }),
    },
    metrics: {
      /** The Prometheus text exposition of the caller's apps. */
      async text(): Promise<string> {
        const res = await http.raw('GET', '/v1/serverless/metrics', { headers: { accept: 'text/plain' } });
        return res.text();
      },
    },
  };
}
