import {
  type DispatchResult,
  type DispatchStart,
  type ErrorClass,
  JsonText,
  PlatformError,
  type RequestRecord,
  type StoredResult,
  toEnvelope,
} from '@hangar/core';
import { type Invocation, isJsonType } from './invocation.js';

/** Status code recorded for a request cancelled before it started (nginx's "client closed request"). */
export const CANCELLED_STATUS = 499;

const CANCELLED_BODY = Buffer.from('{"detail":"Request was cancelled","message":"Request was cancelled"}');

const CLASS_CODES = {
  startup: 'RUNNER_STARTUP_FAILED',
  connection: 'RUNNER_CONNECTION_FAILED',
  timeout: 'RUNNER_TIMEOUT',
  runtime: 'SERVER_INTERNAL',
  start_timeout: 'REQUEST_START_TIMEOUT',
} as const satisfies Record<ErrorClass, string>;

/** The record of a newly accepted request. */
export function newRecord(
  inv: Invocation,
  requestId: string,
  mode: 'sync' | 'queue',
  sentAt: number,
): RequestRecord {
  return {
    requestId,
    owner: inv.app.owner,
    app: inv.app.name,
    endpointId: inv.endpointId,
    callerKeyId: inv.principal?.keyId ?? null,
    method: inv.method,
    mode,
    status: 'IN_QUEUE',
    cancelled: false,
    priority: inv.priority,
    sentAt,
    startedAt: null,
    endedAt: null,
    statusCode: null,
    prepareMs: null,
    durationMs: null,
    runnerId: null,
    coldStart: false,
    coldBootMs: null,
    billableUnits: null,
    errorClass: null,
    attempts: 0,
    storeIo: inv.storeIo,
    jsonInput: inv.jsonInput,
    jsonOutput: null,
    timeoutS: inv.startTimeoutS,
    webhookUrl: inv.webhookUrl,
  };
}

/** The fields recorded when an attempt starts on a runner. */
export function startPatch(
  info: DispatchStart,
  sentAt: number,
  baseAttempts: number,
): Partial<RequestRecord> {
  return {
    status: 'IN_PROGRESS',
    startedAt: info.startedAt,
    runnerId: info.runnerId,
    prepareMs: Math.max(0, info.startedAt - sentAt),
    coldStart: info.coldStart,
    coldBootMs: info.coldBootMs,
    attempts: baseAttempts + info.attempt,
  };
}

/** What the caller receives for an outcome: the app's answer, or a fal envelope for platform failures. */
export function responseOf(result: DispatchResult): StoredResult {
  if (result.cancelled) {
    return { statusCode: CANCELLED_STATUS, contentType: 'application/json', body: CANCELLED_BODY };
  }
  const contentType = result.headers['content-type'];
  if (result.body.length === 0 && result.errorClass && result.statusCode >= 500) {
    const err = new PlatformError(CLASS_CODES[result.errorClass]);
    return {
      statusCode: result.statusCode,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(toEnvelope(err))),
    };
  }
  return {
    statusCode: result.statusCode,
    contentType: contentType ?? 'application/octet-stream',
    body: result.body,
  };
}

/** The fields recorded at completion; `billable_units` falls back to execution seconds, never null. */
export function completionPatch(
  rec: RequestRecord,
  result: DispatchResult,
  response: StoredResult,
  jsonCap: number,
  baseAttempts: number,
): Partial<RequestRecord> {
  const startedAt = result.startedAt ?? rec.startedAt;
  const durationMs = startedAt === null ? null : Math.max(0, result.endedAt - startedAt);
  const errorClass = result.errorClass ?? (!result.cancelled && result.statusCode >= 500 ? 'runtime' : null);
  return {
    status: 'COMPLETED',
    cancelled: result.cancelled,
    startedAt,
    endedAt: result.endedAt,
    statusCode: response.statusCode,
    prepareMs: startedAt === null ? null : Math.max(0, startedAt - rec.sentAt),
    durationMs,
    runnerId: result.runnerId ?? rec.runnerId,
    coldStart: result.coldStart,
    coldBootMs: result.coldBootMs,
    billableUnits: result.billableUnits ?? (durationMs === null ? 0 : durationMs / 1000),
    errorClass,
    attempts: baseAttempts + result.attempts,
    jsonOutput: rec.storeIo ? jsonOutputOf(response, jsonCap) : null,
  };
}

function jsonOutputOf(response: StoredResult, cap: number): unknown {
  if (response.body.length === 0 || !isJsonType(response.contentType)) return null;
  if (response.body.length > cap) return { truncated: true, size: response.body.length };
  const text = response.body.toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  return new JsonText(text);
}
