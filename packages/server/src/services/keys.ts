import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type ApiKeyRecord,
  type Clock,
  type KeyScope,
  type KeyStore,
  OWNER_NAME_PATTERN,
  PlatformError,
} from '@hangar/core';
import { type Authenticator, hashSecret } from '../http/auth.js';

const OWNER_RE = new RegExp(OWNER_NAME_PATTERN);

/** Dependencies of the key service. */
export interface KeyServiceDeps {
  keys: KeyStore;
  clock: Clock;
  /** Told to forget a key when it is revoked, so revocation applies at once. */
  authenticator?: Authenticator;
}

/** A freshly created key: the only time its secret is visible. */
export interface CreatedKey {
  keyId: string;
  secret: string;
  /** `keyId:secret`, what clients send as `Authorization: Key <key>`. */
  key: string;
  record: ApiKeyRecord;
}

/** Options of the first-start admin key bootstrap. */
export interface BootstrapAdminOptions {
  owner: string;
  /** `id:secret` configured by the operator (HANGAR_ADMIN_KEY); otherwise one is generated. */
  adminKey?: string | null;
  /** File the admin key is written to (mode 0600). */
  adminKeyPath: string;
}

/** Owners' API keys: creation, listing, revocation and the operator's admin key. */
export interface KeyService {
  createKey(owner: string, scope: KeyScope, name?: string | null): Promise<CreatedKey>;
  listKeys(owner?: string): Promise<ApiKeyRecord[]>;
  /** Revokes a key; `owner` null acts as the operator (any owner), else only that owner's keys are visible. */
  revokeKey(owner: string | null, keyId: string): Promise<ApiKeyRecord>;
  /** Ensures the operator's ADMIN key exists and is in `adminKeyPath`; `created` is true when a new key was stored. */
  bootstrapAdmin(opts: BootstrapAdminOptions): Promise<{ key: string; created: boolean }>;
}

/** Creates the key service over a KeyStore. */
export function createKeyService(deps: KeyServiceDeps): KeyService {
  const { keys, clock } = deps;

  async function createKey(owner: string, scope: KeyScope, name?: string | null): Promise<CreatedKey> {
    checkOwner(owner);
    await keys.ensureOwner(owner);
    const keyId = randomUUID();
    const secret = randomBytes(32).toString('hex');
    const record: ApiKeyRecord = {
      keyId,
      owner,
      scope,
      name: name ?? null,
      createdAt: clock(),
      revokedAt: null,
    };
    await keys.insertKey(record, hashSecret(secret));
    return { keyId, secret, key: `${keyId}:${secret}`, record };
  }

  async function revokeKey(owner: string | null, keyId: string): Promise<ApiKeyRecord> {
    const found = await keys.findKey(keyId);
    if (!found || (owner !== null && found.key.owner !== owner)) {
      throw new PlatformError('KEY_NOT_FOUND', `Key "${keyId}" not found`);
    }
    const at = clock();
    // Revoking twice is not an error: the key stays revoked at its first revocation time.
    const revoked = await keys.revokeKey(keyId, at);
    deps.authenticator?.invalidate(keyId);
    return { ...found.key, revokedAt: revoked ? at : found.key.revokedAt };
  }

  async function bootstrapAdmin(opts: BootstrapAdminOptions): Promise<{ key: string; created: boolean }> {
    checkOwner(opts.owner);
    await keys.ensureOwner(opts.owner);
    if (opts.adminKey) return applyConfiguredKey(opts.owner, opts.adminKey, opts.adminKeyPath);
    const existing = await readKeyFile(opts.adminKeyPath);
    if (existing && (await isActiveAdmin(existing, opts.owner))) return { key: existing, created: false };
    const created = await createKey(opts.owner, 'ADMIN', 'admin');
    await writeKeyFile(opts.adminKeyPath, created.key);
    return { key: created.key, created: true };
  }

  async function applyConfiguredKey(owner: string, adminKey: string, path: string) {
    if (await isActiveAdmin(adminKey, owner)) {
      await writeKeyFile(path, adminKey);
      return { key: adminKey, created: false };
    }
    const { keyId, secret } = splitKey(adminKey);
    const previous = await keys.findKey(keyId);
    const record: ApiKeyRecord = {
      keyId,
      owner,
      scope: 'ADMIN',
      name: 'admin',
      createdAt: previous?.key.createdAt ?? clock(),
      revokedAt: null,
    };
    await keys.replaceKey(record, hashSecret(secret));
    deps.authenticator?.invalidate(keyId);
    await writeKeyFile(path, adminKey);
    return { key: adminKey, created: previous === null };
  }

  /** True when `key` is stored, unrevoked, ADMIN, of `owner`, with the same secret. */
  async function isActiveAdmin(key: string, owner: string): Promise<boolean> {
    const parts = trySplitKey(key);
    if (!parts) return false;
    const found = await keys.findKey(parts.keyId);
    return (
      found !== null &&
      found.key.revokedAt === null &&
      found.key.scope === 'ADMIN' &&
      found.key.owner === owner &&
      found.secretHash === hashSecret(parts.secret)
    );
  }

  return { createKey, listKeys: (owner) => keys.listKeys(owner), revokeKey, bootstrapAdmin };
}

function checkOwner(owner: string): void {
  if (!OWNER_RE.test(owner)) {
    throw new PlatformError(
      'OWNER_INVALID',
      `Invalid owner name "${owner}": must match ${OWNER_NAME_PATTERN}`,
    );
  }
}

function trySplitKey(key: string): { keyId: string; secret: string } | null {
  const colon = key.indexOf(':');
  if (colon <= 0 || colon === key.length - 1) return null;
  return { keyId: key.slice(0, colon), secret: key.slice(colon + 1) };
}

function splitKey(key: string): { keyId: string; secret: string } {
  const parts = trySplitKey(key);
  if (!parts) throw new PlatformError('AUTH_MALFORMED');
  return parts;
}

async function readKeyFile(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim() || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeKeyFile(path: string, key: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  // `mode` only applies when the file is created; an existing file keeps its mode otherwise.
  await chmod(path, 0o600);
}
