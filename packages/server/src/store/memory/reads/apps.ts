import type {
  AppEventsParams,
  AppListItem,
  AppManifest,
  AppReads,
  AppRevisionsParams,
  EventItem,
  KeysetBefore,
  RevisionItem,
  RevisionTraffic,
  RunnerBucketsParams,
  RunnerSampleBucket,
} from '@hangar/core';
import { asciiLower } from '../../../api/logs/match.js';
import { mergePatch } from '../../merge-patch.js';
import { compareIds, endpointMatcher, type MemoryReadTables } from './tables.js';

// App reads over the memory apps, events, samples, runners and requests, with the SQLite reads' rules
// (sqlite/reads/apps.ts). Keyset listings are newest first by (time, id), strictly before `before`,
// `offset` rows skipped, one row more than `limit` when more exist.

/** A copy of a value as it reads back from a JSON column. */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function appsList(
  t: MemoryReadTables,
  p: { owner: string; environment: string; search: string | null },
): AppListItem[] {
  const { apps, revisions, settings } = t.apps.readTables();
  const needle = p.search === null ? null : asciiLower(p.search);
  const out: AppListItem[] = [];
  for (const [key, a] of apps) {
    const rev = revisions.get(a.currentRevision)?.rev;
    if (a.owner !== p.owner || !rev || rev.manifest.environment !== p.environment) continue;
    if (needle !== null && !asciiLower(a.name).includes(needle)) continue;
    // Through JSON, as the SQLite store keeps manifests and overrides (`undefined` fields dropped).
    const scaling = viaJson(settings.get(key)?.scaling ?? {});
    const manifest = viaJson(mergePatch(viaJson(rev.manifest), scaling)) as AppManifest;
    out.push({ owner: a.owner, name: a.name, updated_at: a.updatedAt, manifest });
  }
  return out.sort((x, y) => compareIds(x.name, y.name));
}

/** Whether (t, k) lies strictly before the keyset position. */
function beforeKey(t: number, k: string, at: KeysetBefore): boolean {
  return at === null || t < at.t || (t === at.t && k < at.k);
}

/** Newest first by (time, id), then the page: `offset` skipped, `limit + 1` kept. */
function keysetPage<T>(
  rows: T[],
  key: (r: T) => [number, string],
  p: { limit: number; offset?: number },
): T[] {
  rows.sort((a, b) => {
    const [ta, ka] = key(a);
    const [tb, kb] = key(b);
    return tb - ta || compareIds(kb, ka);
  });
  const offset = p.offset ?? 0;
  return rows.slice(offset, offset + p.limit + 1);
}

function appRevisions(t: MemoryReadTables, p: AppRevisionsParams): RevisionItem[] {
  const { apps, revisions } = t.apps.readTables();
  const app = apps.get(`${p.owner}/${p.app}`);
  if (!app) return [];
  const found = [...revisions.values()]
    .map((r) => r.rev)
    .filter((r) => r.owner === p.owner && r.app === p.app && beforeKey(r.createdAt, r.revisionId, p.before));
  return keysetPage(found, (r) => [r.createdAt, r.revisionId], p).map((r) => ({
    revision_id: r.revisionId,
    created_at: r.createdAt,
    message: r.message,
    annotations: r.annotations === null ? null : { ...r.annotations },
    status: r.status,
    deployed_by: r.deployedBy,
    is_current: r.revisionId === app.currentRevision,
  }));
}

function appEvents(t: MemoryReadTables, p: AppEventsParams): EventItem[] {
  const cats = p.categories === null ? null : new Set(p.categories);
  const found = [...t.events.values()].filter(
    (e) =>
      e.owner === p.owner &&
      e.app === p.app &&
      e.createdAt >= p.start &&
      e.createdAt < p.end &&
      (cats === null || cats.has(e.category)) &&
      beforeKey(e.createdAt, e.eventId, p.before),
  );
  return keysetPage(found, (e) => [e.createdAt, e.eventId], p).map((e) => ({
    event_id: e.eventId,
    category: e.category,
    created_at: e.createdAt,
    payload: viaJson(e.payload) as Record<string, unknown>,
  }));
}

function runnerBuckets(t: MemoryReadTables, p: RunnerBucketsParams): RunnerSampleBucket[] {
  const buckets = new Map<number, RunnerSampleBucket>();
  for (const s of t.samples) {
    if (s.owner !== p.owner || s.app !== p.app || s.ts < p.start || s.ts >= p.end) continue;
    // Integer division truncating toward zero, as SQLite's.
    const b = Math.trunc((s.ts - p.origin) / p.width);
    const pending = s.pending + s.setup;
    const x = buckets.get(b);
    if (!x) {
      buckets.set(b, {
        b,
        n: 1,
        max_running: s.running,
        max_idle: s.idle,
        max_pending: pending,
        max_draining: s.draining,
        sum_running: s.running,
        sum_idle: s.idle,
        sum_pending: pending,
        sum_draining: s.draining,
      });
      continue;
    }
    x.n++;
    x.max_running = Math.max(x.max_running, s.running);
    x.max_idle = Math.max(x.max_idle, s.idle);
    x.max_pending = Math.max(x.max_pending, pending);
    x.max_draining = Math.max(x.max_draining, s.draining);
    x.sum_running += s.running;
    x.sum_idle += s.idle;
    x.sum_pending += pending;
    x.sum_draining += s.draining;
  }
  return [...buckets.values()].sort((x, y) => x.b - y.b);
}

function revisionTraffic(
  t: MemoryReadTables,
  p: { owner: string; app: string; since: number },
): RevisionTraffic[] {
  const covers = endpointMatcher([{ id: `${p.owner}/${p.app}`, bare: true }]);
  const counts = new Map<string, number>();
  for (const { rec } of t.requests.readRows()) {
    if (rec.sentAt < p.since || rec.runnerId === null || !covers(rec.endpointId)) continue;
    const runner = t.runners.get(rec.runnerId);
    if (runner) counts.set(runner.revisionId, (counts.get(runner.revisionId) ?? 0) + 1);
  }
  return [...counts]
    .map(([revision_id, requests]) => ({ revision_id, requests }))
    .sort((a, b) => b.requests - a.requests || compareIds(a.revision_id, b.revision_id));
}

/** The memory app reads. */
export function createMemoryAppReads(t: MemoryReadTables): AppReads {
  return {
    list: async (p) => appsList(t, p),
    exists: async (p) => t.apps.readTables().apps.has(`${p.owner}/${p.app}`),
    revisions: async (p) => appRevisions(t, p),
    events: async (p) => appEvents(t, p),
    runnerBuckets: async (p) => runnerBuckets(t, p),
    revisionTraffic: async (p) => revisionTraffic(t, p),
  };
}
