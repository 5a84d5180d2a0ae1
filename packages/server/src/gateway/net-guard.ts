import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { createAllowlist, isForbiddenAddress } from '../net/address-policy.js';

/** Which non-public destinations an outbound request may reach. */
export interface NetPolicy {
  /** Allow every destination, including loopback and private ranges (development only). */
  allowPrivate: boolean;
  /** Host names, IPs or CIDRs that may be reached even when not public. */
  allowlist: readonly string[];
}

/** A destination resolved once and checked: connect to `address`, never resolve `hostname` again. */
export interface GuardedTarget {
  url: URL;
  hostname: string;
  address: string;
  family: 4 | 6;
}

/** Why a destination was refused. */
export class NetGuardError extends Error {
  override readonly name = 'NetGuardError';
}

/** Checks outbound destinations against a policy (webhooks, upload-from-URL). */
export interface NetGuard {
  /** Resolves the URL's host once and returns an address that is allowed; throws NetGuardError otherwise. */
  resolve(rawUrl: string): Promise<GuardedTarget>;
  /** Fast check without DNS: refuses literal non-public IPs and `localhost` names. */
  precheck(rawUrl: string): void;
}

type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Creates a guard for `policy`; `resolver` is injectable so tests can map names to addresses. */
export function createNetGuard(policy: NetPolicy, resolver: Resolver = systemResolver): NetGuard {
  const allow = createAllowlist(policy.allowlist);
  const permitted = (hostname: string, address: string) =>
    policy.allowPrivate ||
    allow.allowsHost(hostname) ||
    allow.allowsAddress(address) ||
    !isForbiddenAddress(address);

  return {
    precheck(rawUrl) {
      const url = parseHttpUrl(rawUrl);
      const host = bareHost(url);
      if (policy.allowPrivate || allow.allowsHost(host)) return;
      if (isIP(host) && !permitted(host, host)) throw new NetGuardError(`${host} is not a public address`);
      if (host === 'localhost' || host.endsWith('.localhost')) {
        throw new NetGuardError(`${host} is not a public host`);
      }
    },
    async resolve(rawUrl) {
      const url = parseHttpUrl(rawUrl);
      const hostname = bareHost(url);
      const found = isIP(hostname)
        ? [{ address: hostname, family: isIP(hostname) }]
        : await resolver(hostname).catch(() => []);
      if (found.length === 0) throw new NetGuardError(`${hostname} does not resolve`);
      // Every address must pass: a name resolving to one public and one private address is refused.
      const refused = found.find((a) => !permitted(hostname, a.address));
      if (refused) throw new NetGuardError(`${hostname} resolves to ${refused.address}, which is not public`);
      const first = found[0]!;
      return { url, hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
    },
  };
}

/** A `lookup` for `http.request` that always answers the already checked address. */
export function pinnedLookup(target: GuardedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) {
      callback(null, [{ address: target.address, family: target.family }]);
    } else {
      callback(null, target.address, target.family);
    }
  };
}

function parseHttpUrl(rawUrl: string): URL {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new NetGuardError('not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NetGuardError(`unsupported protocol ${url.protocol}`);
  }
  return url;
}

function bareHost(url: URL): string {
  const host = url.hostname.toLowerCase();
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
