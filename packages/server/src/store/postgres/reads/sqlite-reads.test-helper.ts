// The SQLite read queries of this branch as a PlatformReads over one connection, inline (no worker pool):
// the reference the PostgreSQL reads are compared with. Where the SQLite adapter provides its own
// PlatformReads, this file becomes that adapter's factory.
import { type PlatformReads, serializePage } from '@hangar/core';
import type Database from 'better-sqlite3';
import * as apps from '../../../api/apps/queries.js';
import * as logs from '../../../api/logs/queries.js';
import { queryAnalytics } from '../../../query/analytics.js';
import { listRequestsJson } from '../../../query/requests.js';
import { queryUsage } from '../../../query/usage.js';

/** Every Platform API read on one SQLite connection. */
export function sqliteReads(db: Database.Database): PlatformReads {
  return {
    requestsPage: async (p) => listRequestsJson(db, p),
    analyticsPage: async (p) => serializePage(queryAnalytics(db, p)),
    usagePage: async (p) => serializePage(queryUsage(db, p)),
    logs: {
      historyPage: async (p) => logs.logsHistoryPage(db, p),
      after: async (p) => logs.logsAfter(db, p).map((r) => ({ ...r, labels: JSON.parse(r.labels) })),
      firstIdFrom: async (p) => logs.logsFirstIdFrom(db, p),
    },
    apps: {
      list: async (p) => apps.appsList(db, p).map((r) => ({ ...r, manifest: JSON.parse(r.manifest) })),
      exists: async (p) => apps.appExists(db, p),
      revisions: async (p) =>
        apps.appRevisions(db, p).map((r) => ({
          ...r,
          annotations: r.annotations === null ? null : JSON.parse(r.annotations),
          is_current: r.is_current === 1,
        })),
      events: async (p) => apps.appEvents(db, p).map((r) => ({ ...r, payload: JSON.parse(r.payload) })),
      runnerBuckets: async (p) => apps.runnerSampleBuckets(db, p),
      revisionTraffic: async (p) => apps.revisionTraffic(db, p),
    },
  };
}
