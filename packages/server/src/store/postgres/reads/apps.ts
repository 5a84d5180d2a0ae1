import type { EventCategory, KeysetBefore, RevisionStatus, RunnerSampleBucket } from '@hangar/core';
import { mergePatch } from '../../merge-patch.js';
import { C, num, rows, type SqlClient } from './sql.js';

/** An app row with its manifest (and scaling overrides applied) still as JSON text. */
export interface AppListRow {
  owner: string;
  name: string;
  updated_at: number;
  manifest: string;
}

/** A `revisions` row, annotations as JSON text and `is_current` as 0 or 1. */
export interface RevisionRow {
  revision_id: string;
  created_at: number;
  message: string | null;
  annotations: string | null;
  status: RevisionStatus | null;
  deployed_by: string | null;
  is_current: number;
}

/** An `events` row, payload as JSON text. */
export interface EventRow {
  event_id: string;
  category: EventCategory;
  created_at: number;
  payload: string;
}

type Before = KeysetBefore;
type SampleBucketRow = RunnerSampleBucket;

/** The owner's apps in one environment, optionally whose name contains `search` (ASCII case folded). */
export async function appsList(
  db: SqlClient,
  p: { owner: string; environment: string; search: string | null },
): Promise<AppListRow[]> {
  const sql = `SELECT a.owner, a.name, a.updated_at::float8 AS updated_at, r.manifest::text AS manifest,
      st.scaling::text AS scaling
    FROM apps a JOIN revisions r ON r.revision_id = a.current_revision
    LEFT JOIN app_settings st ON st.owner = a.owner AND st.name = a.name
    WHERE a.owner = $1 AND r.manifest::jsonb ->> 'environment' = $2
      AND ($3::text IS NULL OR strpos(lower(a.name ${C}), lower($3::text ${C})) > 0)
    ORDER BY a.name ${C}`;
  const found = await rows<AppListRow & { scaling: string | null }>(db, sql, [
    p.owner,
    p.environment,
    p.search,
  ]);
  return found.map(({ scaling, ...r }) => ({
    ...r,
    updated_at: num(r.updated_at),
    manifest: JSON.stringify(mergePatch(JSON.parse(r.manifest), JSON.parse(scaling ?? '{}'))),
  }));
}

/** Whether the app exists. */
export async function appExists(db: SqlClient, p: { owner: string; app: string }): Promise<boolean> {
  const found = await rows(db, 'SELECT 1 FROM apps WHERE owner = $1 AND name = $2', [p.owner, p.app]);
  return found.length > 0;
}

/** Revisions newest first, strictly after `before`, one extra row when more exist. */
export async function appRevisions(
  db: SqlClient,
  p: { owner: string; app: string; before: Before; limit: number; offset?: number },
): Promise<RevisionRow[]> {
  const page = p.before ? `AND (r.created_at < $5 OR (r.created_at = $5 AND r.revision_id ${C} < $6))` : '';
  const sql = `SELECT r.revision_id, r.created_at::float8 AS created_at, r.message, r.annotations::text AS annotations,
      r.status, r.deployed_by, (r.revision_id = a.current_revision)::int AS is_current
    FROM revisions r JOIN apps a ON a.owner = r.owner AND a.name = r.app
    WHERE r.owner = $1 AND r.app = $2 ${page}
    ORDER BY r.created_at DESC, r.revision_id ${C} DESC LIMIT $3 OFFSET $4`;
  const keys = p.before ? [p.before.t, p.before.k] : [];
  const found = await rows<RevisionRow>(db, sql, [p.owner, p.app, p.limit + 1, p.offset ?? 0, ...keys]);
  return found.map((r) => ({ ...r, created_at: num(r.created_at) }));
}

/** Events in [start, end), newest first, of the given categories, one extra row when more exist. */
export async function appEvents(
  db: SqlClient,
  p: {
    owner: string;
    app: string;
    start: number;
    end: number;
    categories: string[] | null;
    before: Before;
    limit: number;
    offset?: number;
  },
): Promise<EventRow[]> {
  const page = p.before ? `AND (created_at < $8 OR (created_at = $8 AND event_id ${C} < $9))` : '';
  const sql = `SELECT event_id, category, created_at::float8 AS created_at, payload::text AS payload FROM events
    WHERE owner = $1 AND app = $2 AND created_at >= $3 AND created_at < $4
      AND ($5::text[] IS NULL OR category = ANY($5::text[])) ${page}
    ORDER BY events.created_at DESC, events.event_id ${C} DESC LIMIT $6 OFFSET $7`;
  const keys = p.before ? [p.before.t, p.before.k] : [];
  const args = [p.owner, p.app, p.start, p.end, p.categories, p.limit + 1, p.offset ?? 0, ...keys];
  const found = await rows<EventRow>(db, sql, args);
  return found.map((r) => ({ ...r, created_at: num(r.created_at) }));
}

const SAMPLE_FIELDS = [
  'n',
  'max_running',
  'max_idle',
  'max_pending',
  'max_draining',
  'sum_running',
  'sum_idle',
  'sum_pending',
  'sum_draining',
] as const;

/** Aggregates samples in [start, end) into buckets of `width` ms counted from `origin` (`pending` + `setup`). */
export async function runnerSampleBuckets(
  db: SqlClient,
  p: { owner: string; app: string; start: number; end: number; origin: number; width: number },
): Promise<SampleBucketRow[]> {
  // Integer division truncates toward zero, as SQLite's does.
  const sql = `SELECT ((ts - $1::bigint) / $2::bigint)::float8 AS b, count(*)::float8 AS n,
      max(running)::float8 AS max_running, max(idle)::float8 AS max_idle,
      max(pending + setup)::float8 AS max_pending, max(draining)::float8 AS max_draining,
      sum(running)::float8 AS sum_running, sum(idle)::float8 AS sum_idle,
      sum(pending + setup)::float8 AS sum_pending, sum(draining)::float8 AS sum_draining
    FROM runner_samples WHERE owner = $3 AND app = $4 AND ts >= $5 AND ts < $6
    GROUP BY 1 ORDER BY 1`;
  const found = await rows<SampleBucketRow>(db, sql, [p.origin, p.width, p.owner, p.app, p.start, p.end]);
  return found.map((r) => {
    const out = { ...r, b: num(r.b) };
    for (const f of SAMPLE_FIELDS) out[f] = num(r[f]);
    return out;
  });
}

/** Requests of the app started since `since`, counted by the revision of the runner that served them. */
export async function revisionTraffic(
  db: SqlClient,
  p: { owner: string; app: string; since: number },
): Promise<{ revision_id: string; requests: number }[]> {
  const id = `${p.owner}/${p.app}`;
  const sql = `SELECT ru.revision_id, count(*)::int AS requests
    FROM requests q JOIN runners ru ON ru.runner_id = q.runner_id
    WHERE (q.endpoint_id = $1 OR (q.endpoint_id ${C} >= $2 AND q.endpoint_id ${C} < $3)) AND q.sent_at >= $4
    GROUP BY ru.revision_id ORDER BY requests DESC, ru.revision_id ${C}`;
  return rows(db, sql, [id, `${id}/`, `${id}0`, p.since]);
}
