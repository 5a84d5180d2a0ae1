import { FAL_CLASS_ERROR_TYPES, type LogLine, type RequestRecord } from '@hangar/core';

/** A log entry as fal's queue status carries it. */
export interface RequestLog {
  message: string;
  level: string;
  source: 'USER';
  timestamp: string;
}

/** The three URLs of a queued request (fal's layout: no route segment). */
export interface QueueUrls {
  request_id: string;
  response_url: string;
  status_url: string;
  cancel_url: string;
}

/** Builds the queue URLs of a request on this server. */
export function queueUrls(base: string, owner: string, app: string, requestId: string): QueueUrls {
  const responseUrl = `${base}/queue/${owner}/${app}/requests/${requestId}`;
  return {
    request_id: requestId,
    response_url: responseUrl,
    status_url: `${responseUrl}/status`,
    cancel_url: `${responseUrl}/cancel`,
  };
}

const LEVELS: Record<string, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  warning: 'WARN',
  error: 'ERROR',
  stdout: 'STDOUT',
  stderr: 'STDERR',
};

/** Converts a stored log line to fal's queue log entry. */
export function toRequestLog(line: LogLine): RequestLog {
  return {
    message: line.message,
    level: LEVELS[line.level.toLowerCase()] ?? line.level.toUpperCase(),
    source: 'USER',
    timestamp: new Date(line.ts).toISOString(),
  };
}

/**
 * The `error`/`error_type` pair of a finished request that failed, or null when it succeeded. The type
 * is fal's (see fal-errors.ts): from the error class, else `runner_server_error` for a 5xx answer and
 * `bad_request` for a 4xx one.
 */
export function errorOf(rec: RequestRecord): { error: string; error_type: string } | null {
  if (rec.cancelled) return { error: 'Request was cancelled', error_type: 'client_cancelled' };
  const code = rec.statusCode ?? 500;
  if (code < 400) return null;
  const type = rec.errorClass
    ? FAL_CLASS_ERROR_TYPES[rec.errorClass]
    : code >= 500
      ? 'runner_server_error'
      : 'bad_request';
  return { error: `Invalid status code: ${code}`, error_type: type };
}

/**
 * The status body of a request: `queue_position` while queued, `logs` (null when not asked for) once
 * started, and `metrics` plus any `error` once completed.
 */
export function statusBody(
  rec: RequestRecord,
  urls: QueueUrls,
  queuePosition: number,
  logs: RequestLog[] | null,
): Record<string, unknown> {
  if (rec.status === 'IN_QUEUE') return { status: 'IN_QUEUE', ...urls, queue_position: queuePosition };
  if (rec.status === 'IN_PROGRESS') return { status: 'IN_PROGRESS', ...urls, logs };
  const body: Record<string, unknown> = {
    status: 'COMPLETED',
    ...urls,
    logs,
    metrics: { inference_time: rec.durationMs === null ? null : rec.durationMs / 1000 },
  };
  const failure = errorOf(rec);
  if (failure) Object.assign(body, failure);
  return body;
}
