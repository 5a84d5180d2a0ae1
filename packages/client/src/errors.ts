/** An error answered by a Hangar server in fal's envelope (or a transport failure, status 0). */
export class HangarApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;

  constructor(status: number, type: string, message: string, code?: string) {
    super(message);
    this.name = 'HangarApiError';
    this.status = status;
    this.type = type;
    this.code = code;
  }
}

interface Envelope {
  error?: { type?: string; message?: string; code?: string };
  detail?: unknown;
}

/** Builds the error for a non-2xx response body. */
export function errorFromResponse(status: number, text: string): HangarApiError {
  try {
    const body = JSON.parse(text) as Envelope;
    if (body.error?.message) {
      return new HangarApiError(
        status,
        body.error.type ?? 'server_error',
        body.error.message,
        body.error.code,
      );
    }
    if (body.detail !== undefined) {
      const detail = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
      return new HangarApiError(status, 'app_error', detail);
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return new HangarApiError(status, 'server_error', `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
