import { type PlatformReads, serializePage } from '@hangar/core';
import { storedLine } from '../../reads-shared/log-rows.js';
import { analyticsPage } from './analytics.js';
import {
  appEvents,
  appExists,
  appRevisions,
  appsList,
  revisionTraffic,
  runnerSampleBuckets,
} from './apps.js';
import { logsAfter, logsFirstIdFrom, logsHistoryPage, type SearchMode } from './logs.js';
import { requestsPage } from './requests.js';
import { one, type SqlPool } from './sql.js';
import { withOutages } from './unavailable.js';
import { queryUsage } from './usage.js';

export { createPostgresRollupSink } from './rollups.js';

/** Options of the PostgreSQL reads. */
export interface PostgresReadsOptions {
  /** Told once when log search runs without the pg_trgm index (plain scans of the window). */
  warn?: (message: string) => void;
}

/** The trigram index of migration 020, when it exists and is valid (built on every partition). */
const TRIGRAM_INDEX = `SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
  WHERE c.relname = 'logs_message_trgm' AND i.indisvalid`;

/**
 * Whether the trigram index of migration 020 exists, asked once per process: without it (pg_trgm could
 * not be created) searches check every line of their window, with the same results, and this says so once.
 */
function searchMode(pool: SqlPool, warn: (message: string) => void): () => Promise<SearchMode> {
  let mode: Promise<SearchMode> | null = null;
  return () => {
    mode ??= one(pool, TRIGRAM_INDEX)
      .then((found) => {
        if (!found)
          warn('log search: pg_trgm is not installed in the database; searches scan their whole window');
        return { trigram: found !== undefined };
      })
      .catch((err) => {
        mode = null;
        throw err;
      });
    return mode;
  };
}

const parsedOrNull = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/**
 * Every Platform API read on PostgreSQL, with the semantics of the SQLite reads. An unreachable database
 * answers 503 DATABASE_UNAVAILABLE with Retry-After.
 */
export function createPostgresReads(pool: SqlPool, opts: PostgresReadsOptions = {}): PlatformReads {
  const mode = searchMode(pool, opts.warn ?? ((m) => console.warn(m)));
  return withOutages<PlatformReads>({
    requestsPage: (p) => requestsPage(pool, p),
    analyticsPage: async (p) => serializePage(await analyticsPage(pool, p)),
    usagePage: async (p) => serializePage(await queryUsage(pool, p)),
    logs: {
      historyPage: async (p) => logsHistoryPage(pool, p, await mode()),
      after: async (p) => (await logsAfter(pool, p)).map(storedLine),
      firstIdFrom: (p) => logsFirstIdFrom(pool, p),
    },
    apps: {
      list: async (p) => (await appsList(pool, p)).map((r) => ({ ...r, manifest: JSON.parse(r.manifest) })),
      exists: (p) => appExists(pool, p),
      revisions: async (p) =>
        (await appRevisions(pool, p)).map((r) => ({
          ...r,
          annotations: parsedOrNull<Record<string, string>>(r.annotations),
          is_current: r.is_current === 1,
        })),
      events: async (p) => (await appEvents(pool, p)).map((r) => ({ ...r, payload: JSON.parse(r.payload) })),
      runnerBuckets: (p) => runnerSampleBuckets(pool, p),
      revisionTraffic: (p) => revisionTraffic(pool, p),
    },
  });
}
