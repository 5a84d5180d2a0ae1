import type { ErrorClass } from './domain.js';
import { ERRORS, type ErrorCode, type ErrorType, type PlatformError } from './errors.js';

/**
 * fal's gateway error shape: what `/run`, `/queue` and `/fal/proxy` answer for errors the platform
 * generates (the app's own answers pass through untouched). The same value is sent in `X-Fal-Error-Type`.
 */
export interface FalGatewayError {
  detail: string;
  error_type: string;
}

/** The response header carrying a gateway error's `error_type`. */
export const FAL_ERROR_TYPE_HEADER = 'x-fal-error-type';

/** Hangar's stable registry code of a gateway error, sent beside fal's shape (the body stays fal's). */
export const HANGAR_ERROR_CODE_HEADER = 'x-hangar-error-code';

/**
 * The one table from registry code to fal's `error_type` (fal's "Request Error Types" page). Codes not
 * listed here take the type their registry `type` maps to in `BY_ENVELOPE_TYPE`.
 */
export const FAL_ERROR_TYPES: Readonly<Partial<Record<ErrorCode, string>>> = {
  RUNNER_TIMEOUT: 'request_timeout',
  REQUEST_START_TIMEOUT: 'request_timeout',
  RUNNER_STARTUP_FAILED: 'runner_scheduling_failure',
  RUNNER_CONNECTION_FAILED: 'runner_disconnected',
  REQUEST_CANCELLED: 'client_cancelled',
  QUEUE_LENGTH_EXCEEDED: 'queue_length_exceeded',
  SERVER_INTERNAL: 'internal_error',
  STORE_WRITE_FAILED: 'internal_error',
  SERVER_SHUTTING_DOWN: 'internal_error',
};

/** The default `error_type` of a code the table does not list, by its Platform API envelope type. */
const BY_ENVELOPE_TYPE: Readonly<Record<ErrorType, string>> = {
  authorization_error: 'authorization_error',
  validation_error: 'bad_request',
  not_found: 'not_found',
  rate_limited: 'rate_limited',
  server_error: 'internal_error',
  not_implemented: 'not_implemented',
};

/** fal's `error_type` for a registry code. */
export function falErrorTypeOf(code: ErrorCode): string {
  return FAL_ERROR_TYPES[code] ?? BY_ENVELOPE_TYPE[ERRORS[code].type];
}

/** The gateway error body of an error. */
export function toFalGatewayError(err: PlatformError): FalGatewayError {
  return { detail: err.message, error_type: falErrorTypeOf(err.code) };
}

/** The headers sent with a gateway error: its `error_type` and Hangar's code. */
export function falGatewayErrorHeaders(err: PlatformError): Record<string, string> {
  return { [FAL_ERROR_TYPE_HEADER]: falErrorTypeOf(err.code), [HANGAR_ERROR_CODE_HEADER]: err.code };
}

/**
 * fal's `error_type` of a failed request by its recorded error class (a queued request's status, and an
 * answer without a body).
 */
export const FAL_CLASS_ERROR_TYPES: Readonly<Record<ErrorClass, string>> = {
  startup: 'runner_scheduling_failure',
  connection: 'runner_disconnected',
  timeout: 'request_timeout',
  runtime: 'runner_server_error',
  start_timeout: 'request_timeout',
};

/** The `detail` sent with a class's error type when the runner gave no body. */
export const FAL_CLASS_DETAILS: Readonly<Record<ErrorClass, string>> = {
  startup: ERRORS.RUNNER_STARTUP_FAILED.message,
  connection: ERRORS.RUNNER_CONNECTION_FAILED.message,
  timeout: ERRORS.RUNNER_TIMEOUT.message,
  runtime: 'The runner answered with a server error and no body',
  start_timeout: ERRORS.REQUEST_START_TIMEOUT.message,
};
