import type { PlatformReads, RollupRow, RollupSink } from '@hangar/core';

/** Analytics rollups kept as drained (the memory stores have no request table to rebuild them from). */
export function createMemoryRollups(rows: RollupRow[]): RollupSink {
  return {
    record: (drained) => void rows.push(...drained.map((r) => ({ ...r }))),
    rebuildRecent: async () => 0,
  };
}

/**
 * The memory stores' reads: not written yet, so every read rejects and says so. The Platform API runs on
 * the SQLite (or PostgreSQL) stores; the memory stores serve the write-side tests.
 */
export function createMemoryReads(): PlatformReads {
  const missing = async (): Promise<never> => {
    throw new Error('the memory stores do not implement PlatformReads yet');
  };
  return {
    requestsPage: missing,
    analyticsPage: missing,
    usagePage: missing,
    logs: { historyPage: missing, after: missing, firstIdFrom: missing },
    apps: {
      list: missing,
      exists: missing,
      revisions: missing,
      events: missing,
      runnerBuckets: missing,
      revisionTraffic: missing,
    },
  };
}
