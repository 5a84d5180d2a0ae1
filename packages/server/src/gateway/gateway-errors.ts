import { FAL_ERROR_TYPE_HEADER, toFalGatewayError } from '@hangar/core';
import { toPlatformError } from '../http/app.js';
import type { GatewayReply } from './context.js';

/**
 * Answers an error on the app-calling surfaces (`/run`, `/queue`, `/fal/proxy`) in fal's gateway shape
 * `{"detail","error_type"}` with `X-Fal-Error-Type`, instead of the Platform API's `{"error":{…}}`.
 * Unexpected errors are logged once and answered `internal_error`, never with internals.
 */
export function sendGatewayError(
  err: unknown,
  reply: GatewayReply,
  logInternal: (err: unknown) => void,
): void {
  const platform = toPlatformError(err);
  if (platform.code === 'SERVER_INTERNAL') logInternal(err);
  const body = toFalGatewayError(platform);
  for (const [name, value] of Object.entries(platform.headers)) reply.header(name, value);
  reply.code(platform.status).header(FAL_ERROR_TYPE_HEADER, body.error_type).send(body);
}
