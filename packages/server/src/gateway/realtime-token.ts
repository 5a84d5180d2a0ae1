import { createHmac, timingSafeEqual } from 'node:crypto';
import { PlatformError, type Principal } from '@hangar/core';

/** What a realtime token grants: WebSocket connections as `principal` to the apps named, until `expiresAt`. */
export interface RealtimeGrant {
  principal: Principal;
  /** `owner/app` or a bare `app` (any owner's app of that name, as fal's aliases), as asked at creation. */
  apps: string[];
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

const VERSION = 1;

/** Longest lifetime a token may ask for, in seconds. */
export const MAX_TOKEN_SECONDS = 3600;

/** Signs a grant as `<payload>.<hmac>` (base64url): readable, not secret, but unforgeable. */
export function signRealtimeGrant(secret: Buffer, grant: RealtimeGrant): string {
  const { principal, apps, expiresAt } = grant;
  const body = {
    v: VERSION,
    k: principal.keyId,
    o: principal.owner,
    s: principal.scope,
    a: apps,
    e: expiresAt,
  };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

/**
 * The grant of a token whose signature is right, that has not expired at `now` and names `owner/app`;
 * throws REALTIME_TOKEN_INVALID, REALTIME_TOKEN_EXPIRED or REALTIME_TOKEN_APP otherwise.
 */
export function verifyRealtimeToken(
  secret: Buffer,
  token: string,
  owner: string,
  app: string,
  now: number,
): RealtimeGrant {
  const invalid = () => new PlatformError('REALTIME_TOKEN_INVALID');
  const dot = token.indexOf('.');
  if (dot <= 0) throw invalid();
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(secret, payload), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let body: { v: number; k: string; o: string; s: Principal['scope']; a: string[]; e: number };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (body.v !== VERSION || !Array.isArray(body.a)) throw invalid();
  if (now > body.e) throw new PlatformError('REALTIME_TOKEN_EXPIRED');
  if (!body.a.some((allowed) => allowed === app || allowed === `${owner}/${app}`)) {
    throw new PlatformError('REALTIME_TOKEN_APP', `The token does not allow ${owner}/${app}`);
  }
  return { principal: { keyId: body.k, owner: body.o, scope: body.s }, apps: body.a, expiresAt: body.e };
}

function mac(secret: Buffer, payload: string): string {
  return createHmac('sha256', secret).update(`hangar-realtime.${payload}`).digest('base64url');
}
