import { availableParallelism } from 'node:os';
import type { PlatformReads } from '@hangar/core';
import { createQueryPool, type QueryPool, type QueryPoolOptions } from './pool.js';
import type { Queries, QueryName } from './registry.js';

export { createQueryPool, type QueryPool, type QueryPoolOptions, type QueryWorkerFailure } from './pool.js';

/** The SQLite `PlatformReads`, and the pool it runs on (closed with the stores). */
export interface SqliteReads extends PlatformReads {
  pool: QueryPool;
}

type Params<N extends QueryName> = Parameters<Queries[N]>[1];
type Result<N extends QueryName> = ReturnType<Queries[N]>;

/**
 * Every Platform API read on read-only SQLite connections, run on the pool's worker threads (niced, with
 * the pool's timeout), so a heavy query never blocks the gateway's thread.
 */
export function createSqliteReads(opts: QueryPoolOptions): SqliteReads {
  const pool = createQueryPool(opts);
  const run = <N extends QueryName>(name: N, params: Params<N>) => pool.run<Result<N>>(name, params);
  return {
    pool,
    requestsPage: (p) => run('listRequestsJson', p),
    analyticsPage: (p) => run('queryAnalyticsJson', p),
    usagePage: (p) => run('queryUsageJson', p),
    logs: {
      historyPage: (p) => run('logs.historyPage', p),
      after: (p) => run('logs.after', p),
      firstIdFrom: (p) => run('logs.firstIdFrom', p),
    },
    apps: {
      list: (p) => run('apps.list', p),
      exists: (p) => run('apps.exists', p),
      revisions: (p) => run('apps.revisions', p),
      events: (p) => run('apps.events', p),
      runnerBuckets: (p) => run('apps.runnerBuckets', p),
      revisionTraffic: (p) => run('apps.revisionTraffic', p),
    },
  };
}

/**
 * Query threads run at this nice value: a heavy analytics or search query then takes only the CPU the
 * gateway leaves idle instead of half of it, so /run latency barely moves while queries run.
 */
export const QUERY_THREAD_NICE = 10;

/**
 * Query workers: at most the configured count. On Linux the workers run niced, so they may have as many
 * threads as cores (they only take what the gateway leaves); elsewhere one core stays the gateway's.
 */
export function queryWorkerCount(configured: number): number {
  const cores = availableParallelism();
  return Math.max(1, Math.min(configured, process.platform === 'linux' ? cores : cores - 1));
}
