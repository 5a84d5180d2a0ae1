import { queryAnalytics } from './analytics.js';
import {
  appEvents,
  appExists,
  appRevisions,
  appsList,
  revisionTraffic,
  runnerSampleBuckets,
} from './apps.js';
import { logsAfter, logsFirstIdFrom, logsHistory, logsHistoryPage } from './logs.js';
import { listRequests, listRequestsJson } from './requests.js';
import { serialized } from './serialized.js';
import type { QueryRegistry } from './statements.js';
import { queryUsage } from './usage.js';

/** The Platform API read queries a query worker serves, by name (internal to the SQLite reads). */
export const queries = {
  listRequests,
  /** The requests page serialised on the query thread, payloads as stored (what the route uses). */
  listRequestsJson,
  queryAnalytics,
  queryUsage,
  /** The same pages, serialised on the query thread (what the routes use). */
  queryAnalyticsJson: serialized(queryAnalytics),
  queryUsageJson: serialized(queryUsage),
  'logs.history': logsHistory,
  'logs.historyPage': logsHistoryPage,
  'logs.after': logsAfter,
  'logs.firstIdFrom': logsFirstIdFrom,
  'apps.list': appsList,
  'apps.exists': appExists,
  'apps.revisions': appRevisions,
  'apps.events': appEvents,
  'apps.runnerBuckets': runnerSampleBuckets,
  'apps.revisionTraffic': revisionTraffic,
} satisfies QueryRegistry;

/** The queries in `queries`, by name. */
export type Queries = typeof queries;

/** Names of the queries in `queries`. */
export type QueryName = keyof Queries;
