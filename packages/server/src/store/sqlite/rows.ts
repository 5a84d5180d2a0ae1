import type {
  ApiKeyRecord,
  App,
  AppEvent,
  LogLine,
  RequestRecord,
  Revision,
  RunnerSample,
} from '@hangar/core';
import { decodePayload } from '../payload.js';

// Row shapes as better-sqlite3 returns them; exported so the Platform API readers map rows the same way.

/** Columns of `requests` that make up a `RequestRecord` (no blobs). */
export const REQUEST_COLUMNS =
  'request_id, owner, app, endpoint_id, caller_key_id, method, mode, status, cancelled, priority, ' +
  'sent_at, started_at, ended_at, status_code, prepare_ms, duration_ms, runner_id, cold_start, ' +
  'cold_boot_ms, billable_units, error_class, attempts, store_io, json_input, json_output, timeout_s, ' +
  'webhook_url';

/** A `requests` row selected with `REQUEST_COLUMNS`. */
export interface RequestRow {
  request_id: string;
  owner: string;
  app: string;
  endpoint_id: string;
  caller_key_id: string | null;
  method: string;
  mode: string;
  status: string;
  cancelled: number;
  priority: string;
  sent_at: number;
  started_at: number | null;
  ended_at: number | null;
  status_code: number | null;
  prepare_ms: number | null;
  duration_ms: number | null;
  runner_id: string | null;
  cold_start: number;
  cold_boot_ms: number | null;
  billable_units: number | null;
  error_class: string | null;
  attempts: number;
  store_io: number;
  json_input: string | null;
  json_output: string | null;
  timeout_s: number | null;
  webhook_url: string | null;
}

/** Maps a `requests` row to the domain record (payload JSON parsed). */
export function rowToRequestRecord(r: RequestRow): RequestRecord {
  return {
    requestId: r.request_id,
    owner: r.owner,
    app: r.app,
    endpointId: r.endpoint_id,
    callerKeyId: r.caller_key_id,
    method: r.method,
    mode: r.mode as RequestRecord['mode'],
    status: r.status as RequestRecord['status'],
    cancelled: r.cancelled === 1,
    priority: r.priority as RequestRecord['priority'],
    sentAt: r.sent_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    statusCode: r.status_code,
    prepareMs: r.prepare_ms,
    durationMs: r.duration_ms,
    runnerId: r.runner_id,
    coldStart: r.cold_start === 1,
    coldBootMs: r.cold_boot_ms,
    billableUnits: r.billable_units,
    errorClass: r.error_class as RequestRecord['errorClass'],
    attempts: r.attempts,
    storeIo: r.store_io === 1,
    jsonInput: decodePayload(r.json_input),
    jsonOutput: decodePayload(r.json_output),
    timeoutS: r.timeout_s,
    webhookUrl: r.webhook_url,
  };
}

/** Maps an `api_keys` row to the domain key (the secret hash stays out). */
export function rowToApiKey(r: Record<string, unknown>): ApiKeyRecord {
  return {
    keyId: r.key_id as string,
    owner: r.owner as string,
    scope: r.scope as ApiKeyRecord['scope'],
    name: r.name as string | null,
    createdAt: r.created_at as number,
    revokedAt: r.revoked_at as number | null,
  };
}

/** Maps a `revisions` row to the domain revision. */
export function rowToRevision(r: Record<string, unknown>): Revision {
  return {
    revisionId: r.revision_id as string,
    owner: r.owner as string,
    app: r.app as string,
    createdAt: r.created_at as number,
    message: r.message as string | null,
    annotations: r.annotations == null ? null : JSON.parse(r.annotations as string),
    status: r.status as Revision['status'],
    deployedBy: r.deployed_by as string | null,
    manifest: JSON.parse(r.manifest as string),
    bundle: (r.bundle as string | null) ?? null,
    dir: r.dir as string,
  };
}

/** Columns of `revisions` in the order `revisionValues` gives them. */
export const REVISION_COLUMNS =
  'revision_id, owner, app, created_at, message, annotations, status, deployed_by, manifest, dir, bundle';

/** The values of a revision in `REVISION_COLUMNS` order (the inverse of `rowToRevision`). */
export function revisionValues(rev: Revision): unknown[] {
  return [
    rev.revisionId,
    rev.owner,
    rev.app,
    rev.createdAt,
    rev.message,
    rev.annotations === null ? null : JSON.stringify(rev.annotations),
    rev.status,
    rev.deployedBy,
    JSON.stringify(rev.manifest),
    rev.dir,
    rev.bundle,
  ];
}

/** Columns selecting an app joined with its current revision (`apps a JOIN revisions r`). */
export const APP_COLUMNS =
  'a.owner, a.name, a.current_revision, a.created_at, a.updated_at, r.manifest, r.dir';

/** Maps an `APP_COLUMNS` row to the domain app. */
export function rowToApp(r: Record<string, unknown>): App {
  return {
    owner: r.owner as string,
    name: r.name as string,
    currentRevision: r.current_revision as string,
    manifest: JSON.parse(r.manifest as string),
    dir: r.dir as string,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

/** Maps a `logs` row to the domain log line. */
export function rowToLogLine(r: Record<string, unknown>): LogLine {
  return {
    id: r.id as number,
    ts: r.ts as number,
    owner: r.owner as string,
    app: r.app as string,
    revision: r.revision as string,
    level: r.level as string,
    message: r.message as string,
    labels: JSON.parse(r.labels as string),
  };
}

/** Maps an `events` row to the domain event. */
export function rowToAppEvent(r: Record<string, unknown>): AppEvent {
  return {
    eventId: r.event_id as string,
    owner: r.owner as string,
    app: r.app as string,
    category: r.category as AppEvent['category'],
    createdAt: r.created_at as number,
    payload: JSON.parse(r.payload as string),
  };
}

/** Maps a `runner_samples` row to the domain sample. */
export function rowToRunnerSample(r: Record<string, unknown>): RunnerSample {
  return {
    ts: r.ts as number,
    owner: r.owner as string,
    app: r.app as string,
    pending: r.pending as number,
    setup: r.setup as number,
    idle: r.idle as number,
    running: r.running as number,
    draining: r.draining as number,
  };
}
