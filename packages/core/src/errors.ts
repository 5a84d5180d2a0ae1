/** fal's error envelope `type` values. */
export type ErrorType =
  | 'authorization_error'
  | 'validation_error'
  | 'not_found'
  | 'rate_limited'
  | 'server_error'
  | 'not_implemented';

interface ErrorSpec {
  readonly type: ErrorType;
  readonly status: number;
  readonly message: string;
}

/**
 * The one registry of error codes. Codes are `AREA_WHAT`, never reused; `docs/errors.md` lists every code
 * (a test keeps them in sync).
 */
export const ERRORS = {
  AUTH_MISSING: { type: 'authorization_error', status: 401, message: 'Authentication required' },
  AUTH_MALFORMED: {
    type: 'authorization_error',
    status: 401,
    message: 'Malformed Authorization header: expected "Key <key_id>:<secret>"',
  },
  AUTH_INVALID: { type: 'authorization_error', status: 401, message: 'Invalid or revoked key' },
  AUTH_FORBIDDEN: { type: 'authorization_error', status: 403, message: 'Access denied' },
  AUTH_ADMIN_REQUIRED: {
    type: 'authorization_error',
    status: 403,
    message: 'This operation requires an Admin API key',
  },
  REQUEST_INVALID: { type: 'validation_error', status: 400, message: 'Invalid request parameters' },
  REQUEST_BAD_JSON: { type: 'validation_error', status: 400, message: 'Request body is not valid JSON' },
  REQUEST_TOO_LARGE: { type: 'validation_error', status: 413, message: 'Request body is too large' },
  REQUEST_RATE_LIMITED: { type: 'rate_limited', status: 429, message: 'Rate limit exceeded' },
  APP_NOT_FOUND: { type: 'not_found', status: 404, message: 'App not found' },
  ROUTE_NOT_FOUND: { type: 'not_found', status: 404, message: 'Route not found' },
  MANIFEST_INVALID: { type: 'validation_error', status: 400, message: 'Invalid app manifest' },
  MACHINE_TYPE_UNKNOWN: { type: 'validation_error', status: 400, message: 'Unknown machine type' },
  QUEUE_REQUEST_NOT_FOUND: { type: 'not_found', status: 404, message: 'Request not found' },
  QUEUE_NOT_COMPLETED: { type: 'validation_error', status: 400, message: 'Request is still in progress' },
  RUNNER_STARTUP_FAILED: {
    type: 'server_error',
    status: 503,
    message: 'No runner could be started for this app',
  },
  RUNNER_CONNECTION_FAILED: {
    type: 'server_error',
    status: 502,
    message: 'The runner closed the connection before answering',
  },
  RUNNER_TIMEOUT: { type: 'server_error', status: 504, message: 'The request timed out' },
  PROXY_TARGET_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'x-fal-target-url must point at a fal host or this server',
  },
  KEY_NOT_FOUND: { type: 'not_found', status: 404, message: 'Key not found' },
  OWNER_INVALID: { type: 'validation_error', status: 400, message: 'Invalid owner name' },
  SERVER_SHUTTING_DOWN: { type: 'server_error', status: 503, message: 'Server is shutting down' },
  SERVER_INTERNAL: { type: 'server_error', status: 500, message: 'An unexpected error occurred' },
  NOT_IMPLEMENTED: { type: 'not_implemented', status: 501, message: 'Not implemented' },
} as const satisfies Record<string, ErrorSpec>;

/** A registered error code. */
export type ErrorCode = keyof typeof ERRORS;

/** The error every layer throws; one edge handler turns it into fal's envelope. */
export class PlatformError extends Error {
  readonly code: ErrorCode;
  readonly type: ErrorType;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, headers: Record<string, string> = {}) {
    const spec = ERRORS[code];
    super(message ?? spec.message);
    this.name = 'PlatformError';
    this.code = code;
    this.type = spec.type;
    this.status = spec.status;
    this.headers = headers;
  }
}

/** fal's wire error envelope. */
export interface ErrorEnvelope {
  error: { type: ErrorType; message: string; code?: string; request_id?: string; docs_url?: string };
}

/** Builds the fal error envelope for an error. */
export function toEnvelope(err: PlatformError, requestId?: string): ErrorEnvelope {
  const error: ErrorEnvelope['error'] = { type: err.type, message: err.message, code: err.code };
  if (requestId) error.request_id = requestId;
  return { error };
}
