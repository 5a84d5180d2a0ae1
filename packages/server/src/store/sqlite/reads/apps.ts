import type {
  AppEventsParams,
  AppListItem,
  AppManifest,
  AppRevisionsParams,
  EventCategory,
  EventItem,
  RevisionItem,
  RevisionStatus,
  RevisionTraffic,
  RunnerBucketsParams,
  RunnerSampleBucket,
} from '@hangar/core';
import type Database from 'better-sqlite3';
import { prepared } from './statements.js';

/** The owner's apps in one environment, optionally whose name contains `search` (case-insensitive). */
export function appsList(
  db: Database.Database,
  p: { owner: string; environment: string; search: string | null },
): AppListItem[] {
  const search = p.search === null ? '' : 'AND instr(lower(a.name), lower(?)) > 0';
  const sql = `SELECT a.owner, a.name, a.updated_at, json_patch(r.manifest, coalesce(st.scaling, '{}')) AS manifest
    FROM apps a JOIN revisions r ON r.revision_id = a.current_revision
    LEFT JOIN app_settings st ON st.owner = a.owner AND st.name = a.name
    WHERE a.owner = ? AND json_extract(r.manifest, '$.environment') = ? ${search}
    ORDER BY a.name`;
  const params = p.search === null ? [p.owner, p.environment] : [p.owner, p.environment, p.search];
  const rows = prepared(db, sql).all(...params) as (Omit<AppListItem, 'manifest'> & { manifest: string })[];
  return rows.map((r) => ({ ...r, manifest: JSON.parse(r.manifest) as AppManifest }));
}

/** Whether the app exists. */
export function appExists(db: Database.Database, p: { owner: string; app: string }): boolean {
  return prepared(db, 'SELECT 1 FROM apps WHERE owner = ? AND name = ?').get(p.owner, p.app) !== undefined;
}

interface RevisionRow {
  revision_id: string;
  created_at: number;
  message: string | null;
  annotations: string | null;
  status: RevisionStatus | null;
  deployed_by: string | null;
  is_current: number;
}

/** Revisions newest first, strictly after `before`, one extra row when more exist. */
export function appRevisions(db: Database.Database, p: AppRevisionsParams): RevisionItem[] {
  const page = p.before ? 'AND (r.created_at < ? OR (r.created_at = ? AND r.revision_id < ?))' : '';
  const sql = `SELECT r.revision_id, r.created_at, r.message, r.annotations, r.status, r.deployed_by,
      (r.revision_id = a.current_revision) AS is_current
    FROM revisions r JOIN apps a ON a.owner = r.owner AND a.name = r.app
    WHERE r.owner = ? AND r.app = ? ${page}
    ORDER BY r.created_at DESC, r.revision_id DESC LIMIT ? OFFSET ?`;
  const keys = p.before ? [p.before.t, p.before.t, p.before.k] : [];
  const rows = prepared(db, sql).all(p.owner, p.app, ...keys, p.limit + 1, p.offset ?? 0) as RevisionRow[];
  return rows.map((r) => ({
    ...r,
    annotations: r.annotations === null ? null : (JSON.parse(r.annotations) as Record<string, string>),
    is_current: r.is_current === 1,
  }));
}

/** Events in [start, end), newest first, of the given categories, one extra row when more exist. */
export function appEvents(db: Database.Database, p: AppEventsParams): EventItem[] {
  const cats = p.categories ? `AND category IN (${p.categories.map(() => '?').join(', ')})` : '';
  const page = p.before ? 'AND (created_at < ? OR (created_at = ? AND event_id < ?))' : '';
  const sql = `SELECT event_id, category, created_at, payload FROM events
    WHERE owner = ? AND app = ? AND created_at >= ? AND created_at < ? ${cats} ${page}
    ORDER BY created_at DESC, event_id DESC LIMIT ? OFFSET ?`;
  const keys = p.before ? [p.before.t, p.before.t, p.before.k] : [];
  const rows = prepared(db, sql).all(
    p.owner,
    p.app,
    p.start,
    p.end,
    ...(p.categories ?? []),
    ...keys,
    p.limit + 1,
    p.offset ?? 0,
  ) as { event_id: string; category: EventCategory; created_at: number; payload: string }[];
  return rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as Record<string, unknown> }));
}

/** Aggregates samples in [start, end) into buckets of `width` ms counted from `origin` (`pending` + `setup`). */
export function runnerSampleBuckets(db: Database.Database, p: RunnerBucketsParams): RunnerSampleBucket[] {
  const sql = `SELECT (ts - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS b, count(*) AS n,
      max(running) AS max_running, max(idle) AS max_idle, max(pending + setup) AS max_pending,
      max(draining) AS max_draining, sum(running) AS sum_running, sum(idle) AS sum_idle,
      sum(pending + setup) AS sum_pending, sum(draining) AS sum_draining
    FROM runner_samples WHERE owner = ? AND app = ? AND ts >= ? AND ts < ?
    GROUP BY b ORDER BY b`;
  return prepared(db, sql).all(p.origin, p.width, p.owner, p.app, p.start, p.end) as RunnerSampleBucket[];
}

/**
 * Requests of the app started since `since`, counted by the revision of the runner that served them (the
 * rollout's split). Requests never started (no runner) are not counted.
 */
export function revisionTraffic(
  db: Database.Database,
  p: { owner: string; app: string; since: number },
): RevisionTraffic[] {
  const id = `${p.owner}/${p.app}`;
  const sql = `SELECT ru.revision_id, count(*) AS requests
    FROM requests q JOIN runners ru ON ru.runner_id = q.runner_id
    WHERE (q.endpoint_id = ? OR (q.endpoint_id >= ? AND q.endpoint_id < ?)) AND q.sent_at >= ?
    GROUP BY ru.revision_id ORDER BY requests DESC, ru.revision_id`;
  return prepared(db, sql).all(id, `${id}/`, `${id}0`, p.since) as RevisionTraffic[];
}
