import { queryAnalytics } from './analytics.js';
import { listRequests, listRequestsJson } from './requests.js';
import { serialized } from './serialized.js';
import type { QueryRegistry } from './statements.js';
import { queryUsage } from './usage.js';

/** The Platform API read queries a query worker serves, by name. */
export const queries = {
  listRequests,
  /** The requests page serialised on the query thread, payloads as stored (what the route uses). */
  listRequestsJson,
  queryAnalytics,
  queryUsage,
  /** The same pages, serialised on the query thread (what the routes use). */
  queryAnalyticsJson: serialized(queryAnalytics),
  queryUsageJson: serialized(queryUsage),
} satisfies QueryRegistry;

/** Names of the queries in `queries`. */
export type QueryName = keyof typeof queries;
