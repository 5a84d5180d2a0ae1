import { PlatformError } from '@hangar/core';

/** Seconds a client is told to wait (`Retry-After`) when PostgreSQL cannot be reached. */
export const DATABASE_RETRY_AFTER_S = 2;

// SQLSTATE classes and codes that mean the server is gone or refusing work, not that the query is wrong:
// 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections.
const UNAVAILABLE_STATES = /^(08|57P0[123]$|53300$)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** Whether a driver error means PostgreSQL is unreachable (retry later) rather than a failed query. */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  return UNAVAILABLE_MESSAGE.test(err.message);
}

/**
 * Translates an outage into 503 DATABASE_UNAVAILABLE with `Retry-After` (the message never carries the
 * connection string); any other error passes through, to be logged once as internal.
 */
export function translateOutage(err: unknown): never {
  if (isUnavailable(err)) {
    throw new PlatformError('DATABASE_UNAVAILABLE', undefined, {
      'retry-after': String(DATABASE_RETRY_AFTER_S),
    });
  }
  throw err;
}

/** Wraps every async method of a read object (one level of nesting) with `translateOutage`. */
export function withOutages<T extends object>(reads: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(reads)) {
    if (typeof v === 'function')
      out[k] = (...a: unknown[]) => (v as (...x: unknown[]) => Promise<unknown>)(...a).catch(translateOutage);
    else if (v && typeof v === 'object') out[k] = withOutages(v as object);
    else out[k] = v;
  }
  return out as T;
}
