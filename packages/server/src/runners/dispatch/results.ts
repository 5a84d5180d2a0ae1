import {
  type DispatchResult,
  type ErrorClass,
  type ErrorCode,
  falGatewayErrorHeaders,
  PlatformError,
  toFalGatewayError,
} from '@hangar/core';
import type { Job } from './job.js';

/** Response headers the platform does not pass on: they describe the runner connection, not the answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

const EMPTY = Buffer.alloc(0);

/** Flattens undici's raw header list; repeated names are joined with `, `. */
export function headersFromRaw(raw: Buffer[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const value = raw[i + 1]!.toString('latin1');
    const prev = out[name];
    out[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return out;
}

function bodyOf(chunks: Buffer[]): Buffer {
  if (chunks.length === 0) return EMPTY;
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks);
}

/** `x-fal-billable-units` as a non-negative number, else null. */
export function billableUnitsOf(headers: Record<string, string>): number | null {
  const raw = headers['x-fal-billable-units'];
  if (raw === undefined || raw.trim() === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** The app's own answer to the job's current attempt. */
export function responseResult(job: Job, endedAt: number, errorClass: ErrorClass | null): DispatchResult {
  const headers = job.headersRead ?? headersFromRaw(job.rawHeaders);
  return {
    statusCode: job.statusCode,
    headers,
    body: bodyOf(job.chunks),
    runnerId: job.runner?.id ?? null,
    startedAt: job.startedAt,
    endedAt,
    coldStart: job.coldStart,
    coldBootMs: job.coldBootMs,
    billableUnits: billableUnitsOf(headers),
    errorClass,
    attempts: job.attempts,
    cancelled: false,
  };
}

/** What a platform-generated result reports about a request's attempts. */
export type AttemptSummary = Pick<Job, 'req' | 'startedAt' | 'coldStart' | 'coldBootMs' | 'attempts'>;

/**
 * A platform-generated failure in fal's gateway error shape: `{"detail","error_type"}` with the same type
 * in `X-Fal-Error-Type` (and Hangar's code in `X-Hangar-Error-Code`).
 */
export function errorResult(
  job: AttemptSummary,
  code: ErrorCode,
  endedAt: number,
  errorClass: ErrorClass | null,
  runnerId: string | null,
  message?: string,
): DispatchResult {
  const err = new PlatformError(code, message);
  const body = toFalGatewayError(err);
  return {
    statusCode: err.status,
    headers: { 'content-type': 'application/json', ...falGatewayErrorHeaders(err) },
    body: Buffer.from(JSON.stringify(body)),
    runnerId,
    startedAt: job.startedAt,
    endedAt,
    coldStart: job.coldStart,
    coldBootMs: job.coldBootMs,
    billableUnits: null,
    errorClass,
    attempts: job.attempts,
    cancelled: false,
  };
}

/** The response header that tells fal's clients a 504 came from the caller's own start deadline. */
export const TIMEOUT_TYPE_HEADER = 'x-fal-request-timeout-type';

/**
 * A request whose `X-Fal-Request-Timeout` deadline passed before a runner started it: fal's 504 with
 * `X-Fal-Request-Timeout-Type: user` (its clients never retry it).
 */
export function startTimeoutResult(job: AttemptSummary, endedAt: number): DispatchResult {
  const result = errorResult(job, 'REQUEST_START_TIMEOUT', endedAt, 'start_timeout', null);
  result.headers[TIMEOUT_TYPE_HEADER] = 'user';
  return result;
}

/** A request cancelled while queued: 499 `client_cancelled`, as fal answers a cancelled request. */
export function cancelledResult(job: Job, endedAt: number): DispatchResult {
  const result = errorResult(job, 'REQUEST_CANCELLED', endedAt, null, null);
  result.cancelled = true;
  return result;
}

/** A streamed request whose caller went away (fal's `client_cancelled`): the runner's connection was closed. */
export function clientCancelledResult(job: Job, endedAt: number): DispatchResult {
  const result = errorResult(job, 'REQUEST_CANCELLED', endedAt, null, job.runner?.id ?? null);
  result.cancelled = true;
  return result;
}
