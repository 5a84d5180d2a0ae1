import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { PlatformError } from '@hangar/core';

/** What an upload URL grants: one upload of one object, by one owner, until `expiresAt`. */
export interface UploadGrant {
  /** The upload's id, also the object's id in its `file_url`. */
  id: string;
  owner: string;
  multipart: boolean;
  /** Epoch ms after which the URL is refused. */
  expiresAt: number;
  contentType: string;
  fileName: string;
  /** Seconds the object lives after upload (`X-Fal-Object-Lifecycle`), or null for no expiry. */
  lifetimeS: number | null;
}

const VERSION = 1;

/** Signs a grant as `<payload>.<hmac>` (base64url); the grant is readable, not secret, but unforgeable. */
export function signUploadGrant(secret: Buffer, grant: UploadGrant): string {
  const payload = Buffer.from(JSON.stringify({ v: VERSION, ...grant })).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

/**
 * The grant a token carries, when its signature is right, it is for upload `id` and it has not expired
 * at `now`; throws STORAGE_UPLOAD_URL_INVALID or STORAGE_UPLOAD_URL_EXPIRED otherwise.
 */
export function verifyUploadGrant(
  secret: Buffer,
  token: string | undefined,
  id: string,
  now: number,
): UploadGrant {
  const invalid = () => new PlatformError('STORAGE_UPLOAD_URL_INVALID');
  if (!token) throw invalid();
  const dot = token.indexOf('.');
  if (dot <= 0) throw invalid();
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = Buffer.from(mac(secret, payload), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let grant: UploadGrant & { v: number };
  try {
    grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (grant.v !== VERSION || grant.id !== id) throw invalid();
  if (now > grant.expiresAt) throw new PlatformError('STORAGE_UPLOAD_URL_EXPIRED');
  const { v: _v, ...rest } = grant;
  return rest;
}

function mac(secret: Buffer, payload: string): string {
  return createHmac('sha256', secret).update(`hangar-upload.${payload}`).digest('base64url');
}

/** The server's upload-signing secret, kept in the server home (created on first start, mode 0600). */
export function loadOrCreateStorageSecret(path: string): Buffer {
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32);
  writeFileSync(path, `${secret.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
