import { falGatewayErrorHeaders, toFalGatewayError } from '@hangar/core';
import { toPlatformError } from '../http/app.js';
import type { GatewayReply } from './context.js';

/**
 * Answers an error on the app-calling surfaces (`/run`, `/queue`, `/fal/proxy`) in fal's gateway shape
 * `{"detail","error_type"}` with `X-Fal-Error-Type` (and `X-Hangar-Error-Code`), instead of the Platform API's `{"error":{…}}`.
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
  const headers = { ...platform.headers, ...falGatewayErrorHeaders(platform) };
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  reply.code(platform.status).send(body);
}
