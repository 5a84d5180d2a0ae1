import { queryAnalytics } from './analytics.js';
import { listRequests } from './requests.js';
import type { QueryRegistry } from './statements.js';
import { queryUsage } from './usage.js';

/** The Platform API read queries a query worker serves, by name. */
export const queries = {
  listRequests,
  queryAnalytics,
  queryUsage,
} satisfies QueryRegistry;

/** Names of the queries in `queries`. */
export type QueryName = keyof typeof queries;
