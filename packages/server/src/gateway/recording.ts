import {
  type DispatchResult,
  type DispatchStart,
  FAL_CLASS_DETAILS,
  FAL_CLASS_ERROR_TYPES,
  FAL_ERROR_TYPE_HEADER,
  falGatewayErrorHeaders,
  JsonText,
  PlatformError,
  type RequestRecord,
  type StoredResult,
  toFalGatewayError,
} from '@hangar/core';
import { type Invocation, isJsonType } from './invocation.js';
import { platformHeaders } from './response-headers.js';

/** Status code recorded for a request cancelled before it started (nginx's "client closed request"). */
export const CANCELLED_STATUS = 499;

const CANCELLED = new PlatformError('REQUEST_CANCELLED');
const CANCELLED_BODY = Buffer.from(JSON.stringify(toFalGatewayError(CANCELLED)));
const CANCELLED_HEADERS: Readonly<Record<string, string>> = falGatewayErrorHeaders(CANCELLED);

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

/**
 * What the caller receives for an outcome: the app's answer, or fal's gateway error shape for platform
 * failures, with the platform's response headers (see response-headers.ts).
 */
export function responseOf(result: DispatchResult): StoredResult {
  if (result.cancelled) {
    return {
      statusCode: CANCELLED_STATUS,
      contentType: 'application/json',
      body: CANCELLED_BODY,
      headers: CANCELLED_HEADERS,
    };
  }
  const headers = platformHeaders(result);
  if (result.body.length === 0 && result.errorClass && result.statusCode >= 500) {
    const error_type = FAL_CLASS_ERROR_TYPES[result.errorClass];
    headers[FAL_ERROR_TYPE_HEADER] = error_type;
    return {
      statusCode: result.statusCode,
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify({ detail: FAL_CLASS_DETAILS[result.errorClass], error_type })),
      headers,
    };
  }
  const response: StoredResult = {
    statusCode: result.statusCode,
    contentType: result.headers['content-type'] ?? 'application/octet-stream',
    body: result.body,
  };
  if (Object.keys(headers).length > 0) response.headers = headers;
  return response;
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
