import {
  type AppManifest,
  EVENT_CATEGORIES,
  type EventItem,
  type RevisionItem,
  TIMEFRAMES,
} from '@hangar/core';
import { Type } from 'typebox';
import { isoUtc } from './time-window.js';

// fal's response shapes for the apps operations, and the mapping from stored rows to them.

const Str = Type.String();
const Num = Type.Number();
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Paged = { next_cursor: Nullable(Type.String()), has_more: Type.Boolean() };

/** Regions reported for every app: a self-hosted server runs apps where it runs. */
export const VALID_REGIONS = ['local'];

export const AppSchema = Type.Object(
  {
    endpoint_id: Str,
    name: Str,
    owner: Str,
    environment: Str,
    machine_type: Str,
    auth_mode: Type.Enum(['private', 'public', 'shared']),
    keep_alive: Num,
    min_concurrency: Num,
    max_concurrency: Num,
    request_timeout: Num,
    startup_timeout: Num,
    valid_regions: Type.Array(Str),
    updated_at: Str,
    endpoints: Type.Optional(Type.Array(Str)),
  },
  { additionalProperties: false },
);
export const ListAppsResponse = Type.Object({ apps: Type.Array(AppSchema) }, { additionalProperties: false });
export const QueueSizeResponse = Type.Object({ queue_size: Type.Integer({ minimum: 0 }) });

export const RunnerHistoryResponse = Type.Object({
  endpoint_id: Str,
  timeframe: Type.Enum(TIMEFRAMES),
  aggregation: Type.Enum(['max', 'avg']),
  history: Type.Array(
    Type.Object(
      { timestamp: Str, running: Num, idle: Num, pending: Num, draining: Num },
      { additionalProperties: false },
    ),
  ),
});

const EventPayload = Type.Object(
  {
    job_id: Type.Optional(Str),
    machine_type: Type.Optional(Str),
    reason: Type.Optional(Str),
    state: Type.Optional(Str),
    new_application_id: Type.Optional(Str),
    old_application_id: Type.Optional(Str),
    old_config: Type.Optional(Type.Record(Str, Type.Unknown())),
    new_config: Type.Optional(Type.Record(Str, Type.Unknown())),
    old_app_auth_mode: Type.Optional(Str),
    new_app_auth_mode: Type.Optional(Str),
    actor: Type.Optional(
      Type.Object(
        { nickname: Type.Optional(Str), full_name: Type.Optional(Str) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export const EventCategorySchema = Type.Enum(EVENT_CATEGORIES);
export const AppEventsResponse = Type.Object({
  ...Paged,
  endpoint_id: Str,
  events: Type.Array(
    Type.Object(
      { event_id: Str, category: EventCategorySchema, created_at: Str, payload: EventPayload },
      { additionalProperties: false },
    ),
  ),
});

export const AppRevisionsResponse = Type.Object({
  ...Paged,
  endpoint_id: Str,
  revisions: Type.Array(
    Type.Object(
      {
        revision_id: Str,
        created_at: Str,
        is_current: Type.Boolean(),
        message: Nullable(Str),
        annotations: Type.Union([Type.Record(Str, Str), Type.Null()]),
        status: Type.Union([Type.Enum(['deployed', 'failed', 'deploying']), Type.Null()]),
        deployed_by: Nullable(Str),
      },
      { additionalProperties: false },
    ),
  ),
});

/** Route-level endpoint ids of an app: the bare id for `/`, `owner/name/route` for the others. */
export function endpointIds(owner: string, name: string, routes: readonly string[]): string[] {
  const ids = routes
    .map((r) => r.replace(/^\/+|\/+$/g, ''))
    .map((r) => (r ? `${owner}/${name}/${r}` : `${owner}/${name}`));
  return [...new Set(ids)];
}

/** An app in fal's shape. */
export function toWireApp(
  owner: string,
  name: string,
  updatedAt: number,
  m: AppManifest,
  withEndpoints: boolean,
) {
  return {
    endpoint_id: `${owner}/${name}`,
    name,
    owner,
    environment: m.environment,
    machine_type: m.machine_type,
    auth_mode: m.auth_mode,
    keep_alive: m.keep_alive,
    min_concurrency: m.min_concurrency,
    max_concurrency: m.max_concurrency,
    request_timeout: m.request_timeout,
    startup_timeout: m.startup_timeout,
    valid_regions: VALID_REGIONS,
    updated_at: isoUtc(updatedAt),
    ...(withEndpoints ? { endpoints: endpointIds(owner, name, m.routes ?? ['/']) } : {}),
  };
}

/** A stored event in fal's shape. */
export function toWireEvent(r: EventItem) {
  return {
    event_id: r.event_id,
    category: r.category,
    created_at: isoUtc(r.created_at),
    payload: r.payload,
  };
}

/** A stored revision in fal's shape. */
export function toWireRevision(r: RevisionItem) {
  return {
    revision_id: r.revision_id,
    created_at: isoUtc(r.created_at),
    is_current: r.is_current,
    message: r.message,
    annotations: r.annotations,
    status: r.status,
    deployed_by: r.deployed_by,
  };
}
