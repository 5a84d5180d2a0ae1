import { createHash, timingSafeEqual } from 'node:crypto';
import { type KeyRevocations, type KeyStore, PlatformError, type Principal } from '@hangar/core';

/** Hash under which a key secret is stored. Secrets are 256-bit random, so a fast hash is sufficient. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Splits `Key <id>:<secret>` (also accepts a bare `<id>:<secret>`); throws AUTH_MALFORMED. */
export function parseAuthorization(header: string): { keyId: string; secret: string } {
  const value = header.startsWith('Key ') ? header.slice(4).trim() : header.trim();
  const colon = value.indexOf(':');
  if (header.startsWith('Bearer ') || colon <= 0 || colon === value.length - 1) {
    throw new PlatformError('AUTH_MALFORMED');
  }
  return { keyId: value.slice(0, colon), secret: value.slice(colon + 1) };
}

/** Resolves `Authorization` headers to principals, caching valid keys briefly so revocation lands fast. */
export interface Authenticator {
  /** The principal for a header; throws 401 errors for missing, malformed, unknown or revoked keys. */
  authenticate(header: string | undefined): Promise<Principal>;
  /**
   * The principal when the header's key is cached and its secret was already verified, without
   * awaiting anything; null means "call `authenticate`" (it is never a rejection).
   */
  cached(header: string): Principal | null;
  /** Forgets cached keys (after a revoke); a key id is also announced to every other node. */
  invalidate(keyId?: string): void;
}

const CACHE_MS = 5_000;

interface CachedKey {
  principal: Principal;
  secretHash: string;
  until: number;
  /** The secret last seen to match `secretHash`: a repeat is checked by comparison instead of a hash. */
  verified: Buffer | null;
  /** Scratch space the size of an ASCII `verified`, so checking a repeat allocates nothing. */
  scratch: Buffer | null;
}

/**
 * Creates the authenticator over a key store; `invalidate` must be called when a key is revoked. With
 * `revocations`, keys revoked on other nodes leave the cache too, and while those announcements may go
 * unseen (`reliable()` false) every request is verified against the store instead of the cache.
 */
export function createAuthenticator(
  keys: KeyStore,
  now: () => number = Date.now,
  revocations?: KeyRevocations,
): Authenticator {
  const cache = new Map<string, CachedKey>();
  const trusted = revocations ? () => revocations.reliable() : () => true;
  revocations?.subscribe((keyId) => {
    if (keyId === null) cache.clear();
    else cache.delete(keyId);
  });
  const lookup = async (keyId: string): Promise<CachedKey> => {
    const found = await keys.findKey(keyId);
    if (!found || found.key.revokedAt !== null) {
      cache.delete(keyId);
      throw new PlatformError('AUTH_INVALID');
    }
    const principal = { keyId, owner: found.key.owner, scope: found.key.scope };
    const hit: CachedKey = {
      principal,
      secretHash: found.secretHash,
      until: now() + CACHE_MS,
      verified: null,
      scratch: null,
    };
    cache.set(keyId, hit);
    return hit;
  };
  return {
    async authenticate(header) {
      if (!header) throw new PlatformError('AUTH_MISSING');
      const { keyId, secret } = parseAuthorization(header);
      let hit = cache.get(keyId);
      if (!hit || hit.until < now() || !trusted()) hit = await lookup(keyId);
      const given = Buffer.from(secret);
      const seen = hit.verified;
      if (seen !== null && seen.length === given.length && timingSafeEqual(seen, given)) {
        return hit.principal;
      }
      if (!matchesHash(secret, hit.secretHash)) throw new PlatformError('AUTH_INVALID');
      hit.verified = given;
      // Only an ASCII secret (as many bytes as characters) gets the allocation-free check in `cached`.
      hit.scratch = given.length === secret.length ? Buffer.alloc(given.length) : null;
      return hit.principal;
    },
    cached(header) {
      const colon = header.indexOf(':');
      if (colon < 0 || !header.startsWith('Key ') || !trusted()) return null;
      const hit = cache.get(header.slice(4, colon));
      if (!hit || hit.verified === null || hit.scratch === null || hit.until < now()) return null;
      const seen = hit.verified;
      if (header.length - colon - 1 !== seen.length) return null;
      // Whole characters only are written, and a non-ASCII one takes several bytes, all above 0x7f, which
      // the ASCII secret in `seen` never holds: so an equal buffer means the very same secret.
      const written = hit.scratch.write(header.slice(colon + 1), 'utf8');
      return written === seen.length && timingSafeEqual(hit.scratch, seen) ? hit.principal : null;
    },
    invalidate(keyId) {
      if (!keyId) {
        cache.clear();
        return;
      }
      cache.delete(keyId);
      // A failed announcement is retried by the adapter; other nodes' caches expire within CACHE_MS.
      revocations?.announce(keyId).catch(() => {});
    },
  };
}

function matchesHash(secret: string, secretHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
