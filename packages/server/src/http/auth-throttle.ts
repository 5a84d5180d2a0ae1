import { type Clock, PlatformError, type Principal, systemClock } from '@hangar/core';
import { clientBucket } from '../net/ip.js';
import { type Authenticator, parseAuthorization } from './auth.js';

/** Budgets of failed authentication (config `limits.auth_failures`). */
export interface AuthThrottleOptions {
  /** Failed attempts one client address may make per window; 0 disables the address limit. */
  perAddress: number;
  /** Failed attempts against one key id per window, all addresses together; 0 disables the key limit. */
  perKey: number;
  windowMs: number;
  /** Client addresses, and key ids, tracked at most (each); the least recently failing is forgotten first. */
  maxTracked: number;
  clock?: Clock;
}

/**
 * Throttles failed authentication. A client address that spent its budget is refused (429) on every
 * attempt, right secret or not, so a guess from it tells nothing. A key id that spent its (larger,
 * shared) budget is refused only to addresses that failed within the window: the owner's own clients,
 * which do not fail, keep getting in while the key is under attack from elsewhere.
 */
export interface AuthThrottle {
  /** True when the address failed within the window: its requests skip the verified-key shortcuts. */
  suspect(address: string): boolean;
  /** Seconds an attempt from `address` for `keyId` must wait (`Retry-After`), or 0 when it may proceed. */
  waitSeconds(address: string, keyId: string | null): number;
  /** Records a failed attempt (a wrong secret, or an unknown or revoked key). */
  fail(address: string, keyId: string | null): void;
  /** Entries held, for tests and metrics. */
  tracked(): { addresses: number; keys: number };
}

interface Failures {
  /** Failures not yet drained (the budget drains evenly over one window). */
  level: number;
  at: number;
  /** When the last failure happened. */
  last: number;
}

/** Failure counts per name that drain at `budget` per window, with at most `cap` names held. */
class FailureCounts {
  private readonly entries = new Map<string, Failures>();
  private readonly perMs: number;

  constructor(
    private readonly budget: number,
    private readonly windowMs: number,
    private readonly cap: number,
  ) {
    this.perMs = Math.max(1, budget) / windowMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Undrained failures of `name` now; forgets a name with nothing left to remember. */
  private level(name: string, now: number): { level: number; last: number } | null {
    const e = this.entries.get(name);
    if (!e) return null;
    const level = Math.max(0, e.level - (now - e.at) * this.perMs);
    if (level === 0 && now - e.last >= this.windowMs) {
      this.entries.delete(name);
      return null;
    }
    return { level, last: e.last };
  }

  record(name: string, now: number): void {
    const level = (this.level(name, now)?.level ?? 0) + 1;
    // Re-inserted so the map's order is the order of last failures: the first entry is evicted at the cap.
    this.entries.delete(name);
    if (this.entries.size >= this.cap) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(name, { level, at: now, last: now });
  }

  /** Milliseconds until one more failure fits the budget; 0 when it fits now (or there is no budget). */
  waitMs(name: string, now: number): number {
    if (this.budget <= 0) return 0;
    const level = this.level(name, now)?.level ?? 0;
    return level <= this.budget - 1 ? 0 : (level - (this.budget - 1)) / this.perMs;
  }

  /** Milliseconds until `name` has no failure within the window; 0 when it has none now. */
  recentMs(name: string, now: number): number {
    const seen = this.level(name, now);
    return seen ? Math.max(0, seen.last + this.windowMs - now) : 0;
  }
}

/** Creates the throttle; addresses are grouped as `clientBucket` does (IPv6 by /64). */
export function createAuthThrottle(opts: AuthThrottleOptions): AuthThrottle {
  const clock = opts.clock ?? systemClock;
  const addresses = new FailureCounts(opts.perAddress, opts.windowMs, opts.maxTracked);
  const keys = new FailureCounts(opts.perKey, opts.windowMs, opts.maxTracked);
  return {
    suspect(address) {
      return addresses.size > 0 && addresses.recentMs(clientBucket(address), clock()) > 0;
    },
    waitSeconds(address, keyId) {
      const now = clock();
      const client = clientBucket(address);
      let wait = addresses.waitMs(client, now);
      if (keyId !== null) {
        const keyWait = keys.waitMs(keyId, now);
        if (keyWait > 0) wait = Math.max(wait, Math.min(keyWait, addresses.recentMs(client, now)));
      }
      return wait > 0 ? Math.max(1, Math.ceil(wait / 1000)) : 0;
    },
    fail(address, keyId) {
      const now = clock();
      addresses.record(clientBucket(address), now);
      if (keyId !== null) keys.record(keyId, now);
    },
    tracked: () => ({ addresses: addresses.size, keys: keys.size }),
  };
}

/** The key id an `Authorization` header names, or null when it is malformed. */
function keyIdOf(header: string): string | null {
  try {
    return parseAuthorization(header).keyId;
  } catch {
    return null;
  }
}

/**
 * Authenticates `header` for a client at `address`: 429 `AUTH_RATE_LIMITED` with `Retry-After` while
 * throttled (the secret is not even checked), and every `AUTH_INVALID` counted. A refused attempt is not
 * counted, so `Retry-After` holds; a success resets nothing, so a valid key of one's own cannot buy guesses.
 */
export async function authenticateThrottled(
  authenticator: Authenticator,
  throttle: AuthThrottle,
  header: string | undefined,
  address: string,
): Promise<Principal> {
  if (header === undefined || header === '') return authenticator.authenticate(header);
  const keyId = keyIdOf(header);
  const wait = throttle.waitSeconds(address, keyId);
  if (wait > 0) {
    throw new PlatformError('AUTH_RATE_LIMITED', undefined, { 'retry-after': String(wait) });
  }
  try {
    return await authenticator.authenticate(header);
  } catch (err) {
    if (err instanceof PlatformError && err.code === 'AUTH_INVALID') throttle.fail(address, keyId);
    throw err;
  }
}
