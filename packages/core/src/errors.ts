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
  AUTH_RATE_LIMITED: {
    type: 'rate_limited',
    status: 429,
    message: 'Too many failed authentication attempts; retry later',
  },
  AUTH_FORBIDDEN: { type: 'authorization_error', status: 403, message: 'Access denied' },
  AUTH_ADMIN_REQUIRED: {
    type: 'authorization_error',
    status: 403,
    message: 'This operation requires an Admin API key',
  },
  REQUEST_INVALID: { type: 'validation_error', status: 400, message: 'Invalid request parameters' },
  REQUEST_BAD_JSON: { type: 'validation_error', status: 400, message: 'Request body is not valid JSON' },
  REQUEST_TOO_LARGE: { type: 'validation_error', status: 413, message: 'Request body is too large' },
  REQUEST_MALFORMED: {
    type: 'validation_error',
    status: 400,
    message: 'The HTTP request could not be parsed',
  },
  REQUEST_HEADERS_TOO_LARGE: {
    type: 'validation_error',
    status: 431,
    message: 'The request line and headers exceed the size limit',
  },
  REQUEST_TIMEOUT: {
    type: 'validation_error',
    status: 408,
    message: 'The request headers were not received in time',
  },
  REQUEST_INPUT_TOO_COMPLEX: {
    type: 'validation_error',
    status: 400,
    message: 'Request input is nested too deeply, has too many items or too long a string',
  },
  REQUEST_RATE_LIMITED: { type: 'rate_limited', status: 429, message: 'Rate limit exceeded' },
  APP_NOT_FOUND: { type: 'not_found', status: 404, message: 'App not found' },
  APP_DELETED: { type: 'not_found', status: 404, message: 'The app was deleted before the request started' },
  REVISION_NOT_FOUND: { type: 'not_found', status: 404, message: 'Revision not found' },
  REVISION_LIVE: {
    type: 'validation_error',
    status: 409,
    message: 'The revision serves traffic; switch to another revision or end the rollout first',
  },
  ROLLOUT_NOT_ACTIVE: { type: 'validation_error', status: 409, message: 'No rollout is in progress' },
  RUNNER_NOT_FOUND: { type: 'not_found', status: 404, message: 'Runner not found' },
  ROUTE_NOT_FOUND: { type: 'not_found', status: 404, message: 'Route not found' },
  MANIFEST_INVALID: { type: 'validation_error', status: 400, message: 'Invalid app manifest' },
  MACHINE_TYPE_UNKNOWN: { type: 'validation_error', status: 400, message: 'Unknown machine type' },
  DEPLOY_DIR_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'path must be an absolute path to an existing directory on the server',
  },
  DEPLOY_PATH_UNSUPPORTED: {
    type: 'validation_error',
    status: 400,
    message: 'Deploying a server path is not available over the API; upload a bundle and deploy it by digest',
  },
  BUNDLE_INVALID: { type: 'validation_error', status: 400, message: 'Bundle rejected' },
  BUNDLE_TOO_LARGE: { type: 'validation_error', status: 413, message: 'Bundle exceeds the size limits' },
  BUNDLE_NOT_FOUND: { type: 'not_found', status: 404, message: 'Bundle not found' },
  QUEUE_REQUEST_NOT_FOUND: { type: 'not_found', status: 404, message: 'Request not found' },
  REQUEST_CANCELLED: { type: 'validation_error', status: 499, message: 'Request was cancelled' },
  QUEUE_LENGTH_EXCEEDED: {
    type: 'rate_limited',
    status: 429,
    message: 'The app queue is longer than fal_max_queue_length',
  },
  QUEUE_NOT_COMPLETED: { type: 'validation_error', status: 400, message: 'Request is still in progress' },
  RUNNER_STARTUP_FAILED: {
    type: 'server_error',
    status: 503,
    message: 'No runner could be started for this app',
  },
  RUNNER_IMAGE_UNSUPPORTED: {
    type: 'validation_error',
    status: 400,
    message: "This server's runners cannot run container images; deploy a bundled app with a command",
  },
  RUNNER_CONNECTION_FAILED: {
    type: 'server_error',
    status: 503,
    message: 'The runner closed the connection before answering',
  },
  RUNNER_TIMEOUT: { type: 'server_error', status: 504, message: 'The request timed out' },
  REQUEST_START_TIMEOUT: {
    type: 'server_error',
    status: 504,
    message: 'The request did not start before its X-Fal-Request-Timeout deadline',
  },
  PROXY_TARGET_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'x-fal-target-url must point at a fal host or this server',
  },
  KEY_NOT_FOUND: { type: 'not_found', status: 404, message: 'Key not found' },
  OWNER_INVALID: { type: 'validation_error', status: 400, message: 'Invalid owner name' },
  OWNER_SINGLE_TENANT: {
    type: 'authorization_error',
    status: 403,
    message: 'This server runs in single-tenant mode and serves one owner only',
  },
  SECRET_NAME_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'Invalid secret name: use A-Z, 0-9 and _, not starting with a digit (at most 128 characters)',
  },
  SECRET_NAME_RESERVED: {
    type: 'validation_error',
    status: 400,
    message: 'This name is reserved for a variable the platform sets',
  },
  SECRET_VALUE_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'Invalid secret value: 1 to 32768 bytes of UTF-8 text without NUL characters',
  },
  SECRET_LIMIT_REACHED: {
    type: 'validation_error',
    status: 400,
    message: 'The owner already has the maximum number of secrets (200)',
  },
  SECRET_NOT_FOUND: { type: 'not_found', status: 404, message: 'Secret not found' },
  SECRETS_KEY_REQUIRED: {
    type: 'server_error',
    status: 503,
    message:
      'Secrets cannot be set: this server keeps them in a shared database and has no HANGAR_SECRETS_KEY',
  },
  SECRET_UNREADABLE: {
    type: 'server_error',
    status: 500,
    message: 'A stored secret cannot be decrypted with the configured keys',
  },
  STORE_WRITE_FAILED: { type: 'server_error', status: 500, message: 'The request could not be recorded' },
  FILES_PATH_INVALID: { type: 'validation_error', status: 400, message: 'Invalid file path' },
  FILES_NOT_FOUND: { type: 'not_found', status: 404, message: 'File or directory not found' },
  FILES_NOT_A_DIRECTORY: { type: 'validation_error', status: 400, message: 'Path is not a directory' },
  FILES_NOT_A_FILE: { type: 'validation_error', status: 400, message: 'Path is a directory, not a file' },
  FILES_DESTINATION_EXISTS: {
    type: 'validation_error',
    status: 409,
    message: 'The destination already exists',
  },
  FILES_RANGE_NOT_SATISFIABLE: {
    type: 'validation_error',
    status: 416,
    message: 'Requested range not satisfiable',
  },
  FILES_TOO_LARGE: { type: 'validation_error', status: 413, message: 'File exceeds the upload size limit' },
  FILES_UPLOAD_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'Expected multipart/form-data with one file part named file_upload',
  },
  FILES_ZIP_INVALID: { type: 'validation_error', status: 400, message: 'Archive rejected' },
  FILES_ZIP_TOO_LARGE: {
    type: 'validation_error',
    status: 413,
    message: 'Archive exceeds the extraction limits',
  },
  FILES_QUOTA_EXCEEDED: {
    type: 'validation_error',
    status: 413,
    message: 'Storage quota exceeded',
  },
  FILES_CONFLICT: {
    type: 'validation_error',
    status: 409,
    message: 'The files changed while the operation ran; retry it',
  },
  STORAGE_UPLOAD_URL_INVALID: {
    type: 'authorization_error',
    status: 403,
    message: 'The upload URL is not valid for this upload',
  },
  STORAGE_UPLOAD_URL_EXPIRED: {
    type: 'authorization_error',
    status: 403,
    message: 'The upload URL has expired; initiate the upload again',
  },
  STORAGE_FILE_NAME_INVALID: { type: 'validation_error', status: 400, message: 'Invalid file name' },
  STORAGE_LIFECYCLE_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'X-Fal-Object-Lifecycle must be JSON with a non-negative expiration_duration_seconds',
  },
  STORAGE_OBJECT_TOO_LARGE: {
    type: 'validation_error',
    status: 413,
    message: 'The object exceeds the size limit',
  },
  STORAGE_QUOTA_EXCEEDED: {
    type: 'validation_error',
    status: 413,
    message: 'Object storage quota exceeded',
  },
  STORAGE_PARTS_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'The part list does not match the uploaded parts',
  },
  STORAGE_UPLOAD_COMPLETED: {
    type: 'validation_error',
    status: 409,
    message: 'This upload is already complete',
  },
  QUEUE_UNAVAILABLE: {
    type: 'server_error',
    status: 503,
    message: 'The cluster queue is unavailable; retry later',
  },
  STORAGE_OBJECT_NOT_FOUND: { type: 'not_found', status: 404, message: 'Object not found' },
  STORAGE_UNAVAILABLE: {
    type: 'server_error',
    status: 503,
    message: 'Object storage is unavailable; retry later',
  },
  DATABASE_SCHEMA_NEWER: {
    type: 'server_error',
    status: 500,
    message: 'The database schema is newer than this Hangar knows; upgrade this node',
  },
  DATABASE_UNAVAILABLE: {
    type: 'server_error',
    status: 503,
    message: 'The database is unavailable; retry later',
  },
  NET_URL_INVALID: {
    type: 'validation_error',
    status: 400,
    message: 'URL must be an absolute http or https URL',
  },
  NET_URL_NOT_ALLOWED: {
    type: 'validation_error',
    status: 400,
    message: 'The URL is not under a prefix the operator allows',
  },
  NET_ADDRESS_FORBIDDEN: {
    type: 'validation_error',
    status: 400,
    message: 'The URL resolves to an address that is not allowed',
  },
  NET_FETCH_FAILED: { type: 'validation_error', status: 400, message: 'The URL could not be fetched' },
  NET_TIMEOUT: { type: 'validation_error', status: 400, message: 'Fetching the URL timed out' },
  NET_TOO_MANY_REDIRECTS: {
    type: 'validation_error',
    status: 400,
    message: 'The URL redirected too many times',
  },
  NET_RESPONSE_TOO_LARGE: {
    type: 'validation_error',
    status: 413,
    message: 'The fetched content exceeds the size limit',
  },
  REALTIME_TOKEN_INVALID: {
    type: 'authorization_error',
    status: 401,
    message: 'The realtime token is not valid',
  },
  REALTIME_TOKEN_EXPIRED: {
    type: 'authorization_error',
    status: 401,
    message: 'The realtime token has expired; request a new one',
  },
  REALTIME_TOKEN_APP: {
    type: 'authorization_error',
    status: 403,
    message: 'The realtime token was not issued for this app',
  },
  REALTIME_NOT_WEBSOCKET: {
    type: 'validation_error',
    status: 400,
    message: 'This route does not accept WebSocket connections',
  },
  REALTIME_UPGRADE_REQUIRED: {
    type: 'validation_error',
    status: 426,
    message: 'This route accepts WebSocket connections only',
  },
  LOGS_STREAM_LIMIT: {
    type: 'rate_limited',
    status: 429,
    message: 'Too many concurrent streams for this key',
  },
  LOGS_STREAM_SLOW: {
    type: 'server_error',
    status: 503,
    message: 'Log stream dropped: the client is not reading fast enough',
  },
  QUERY_WORKER_FAILED: {
    type: 'server_error',
    status: 500,
    message: 'The query could not be completed; retry the request',
  },
  QUERY_TIMEOUT: { type: 'server_error', status: 504, message: 'The query took too long' },
  NODE_NOT_READY: {
    type: 'server_error',
    status: 503,
    message: 'This node is not ready to serve; retry later or on another node',
  },
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
