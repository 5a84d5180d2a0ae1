import { lookup } from 'node:dns/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { PlatformError } from '@hangar/core';
import { Agent, request } from 'undici';
import { type Cidr, cidrContains, embeddedV4, type IpAddress, parseCidr, parseIp } from './ip.js';

function cidrs(list: string[]): Cidr[] {
  return list.map((c) => {
    const parsed = parseCidr(c);
    if (!parsed) throw new Error(`bad built-in CIDR ${c}`);
    return parsed;
  });
}

/** IPv4 ranges no server-side fetch may reach: this host, private, shared, link-local, reserved. */
const FORBIDDEN_V4 = cidrs([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
]);

/** IPv6 ranges refused outright (loopback, unspecified, ULA, link/site-local, multicast, tunnels). */
const FORBIDDEN_V6 = cidrs([
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
]);

const NAT64 = parseCidr('64:ff9b::/96') as Cidr;
const SIX_TO_FOUR = parseCidr('2002::/16') as Cidr;

function forbiddenParsed(ip: IpAddress): boolean {
  if (ip.family === 4) return FORBIDDEN_V4.some((c) => cidrContains(c, ip));
  if (FORBIDDEN_V6.some((c) => cidrContains(c, ip))) return true;
  if (cidrContains(NAT64, ip)) return forbiddenParsed(embeddedV4(ip.value));
  if (cidrContains(SIX_TO_FOUR, ip)) return forbiddenParsed(embeddedV4(ip.value >> 80n));
  return false;
}

/**
 * True when a server-side request must not connect to `ip`: anything that is not a public unicast
 * address (and anything that does not parse as an IP at all).
 */
export function isForbiddenAddress(ip: string): boolean {
  const parsed = parseIp(ip);
  return parsed === null || forbiddenParsed(parsed);
}

/** Operator exceptions: host names matched exactly, IPs and CIDRs matched against resolved addresses. */
export interface Allowlist {
  allowsHost(hostname: string): boolean;
  allowsAddress(ip: string): boolean;
}

/** Builds an allowlist from entries such as `files.internal`, `10.1.2.3` or `10.0.0.0/8`. */
export function createAllowlist(entries: readonly string[]): Allowlist {
  const hosts = new Set<string>();
  const blocks: Cidr[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const cidr = parseCidr(entry);
    if (cidr) blocks.push(cidr);
    else if (entry.includes('/')) throw new Error(`Invalid allowlist entry: ${raw}`);
    else hosts.add(entry.replace(/\.$/, ''));
  }
  return {
    allowsHost: (hostname) => hosts.has(hostname.toLowerCase().replace(/\.$/, '')),
    allowsAddress: (ip) => {
      const parsed = parseIp(ip);
      return parsed !== null && blocks.some((b) => cidrContains(b, parsed));
    },
  };
}

/** A URL prefix an operator allows: an exact origin and a path matched on `/` boundaries. */
export interface UrlPrefix {
  origin: string;
  path: string;
}

/** Parses an allowlisted URL prefix such as `https://cdn.example.com/models/`; throws on anything else. */
export function parseUrlPrefix(raw: string): UrlPrefix {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${raw}`);
  if (url.username || url.password || url.search || url.hash) {
    throw new Error(`a URL prefix has no credentials, query or fragment: ${raw}`);
  }
  return { origin: url.origin, path: url.pathname };
}

/**
 * True when `url` lies under `prefix`: the same scheme, host and port (so `good.example.com.evil.net`
 * never matches `good.example.com`), and a path equal to the prefix's or below it at a `/` boundary.
 */
export function matchesUrlPrefix(url: URL, prefix: UrlPrefix): boolean {
  if (url.origin !== prefix.origin) return false;
  if (prefix.path.endsWith('/')) return url.pathname.startsWith(prefix.path);
  return url.pathname === prefix.path || url.pathname.startsWith(`${prefix.path}/`);
}

/**
 * Splits a URL allowlist (`files.url_allowlist`): entries with `://` are URL prefixes, the others hosts,
 * IPs or CIDRs allowed although not public. Throws (naming the entry) on an entry that is neither.
 */
export function splitUrlAllowlist(entries: readonly string[]): { prefixes: string[]; allowlist: string[] } {
  const prefixes = entries.filter((e) => e.includes('://'));
  const allowlist = entries.filter((e) => !e.includes('://'));
  prefixes.forEach(parseUrlPrefix);
  createAllowlist(allowlist);
  return { prefixes, allowlist };
}

/** Settings for a fetch that only reaches public addresses (plus the operator's allowlist). */
export interface GuardedFetchOptions {
  allowlist?: readonly string[];
  /**
   * URL prefixes: when any is given, only URLs under one of them are fetched (on every redirect hop),
   * and those may reach private addresses.
   */
  urlPrefixes?: readonly string[];
  /** Deadline for the whole exchange: every redirect, the headers and the body. */
  timeoutMs: number;
  /** Response bodies longer than this fail with NET_RESPONSE_TOO_LARGE. */
  maxBytes: number;
  maxRedirects?: number;
  /** Resolves a host name to addresses; defaults to the system resolver. */
  resolve?: (hostname: string) => Promise<string[]>;
}

/** One outgoing request. */
export interface GuardedRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

/** The final (non-redirect) response; `body` enforces the size cap and the deadline while read. */
export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: string;
  body: Readable;
}

/** Fetches a URL, refusing non-public destinations on every hop. */
export type GuardedFetch = (url: string, init?: GuardedRequest) => Promise<GuardedResponse>;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function systemResolve(hostname: string): Promise<string[]> {
  const found = await lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** Creates a fetch that resolves each host once, checks the addresses and connects to the checked one. */
export function createGuardedFetch(opts: GuardedFetchOptions): GuardedFetch {
  const allow = createAllowlist(opts.allowlist ?? []);
  const prefixes = (opts.urlPrefixes ?? []).map(parseUrlPrefix);
  const resolve = opts.resolve ?? systemResolve;
  const maxRedirects = opts.maxRedirects ?? 5;
  return async (rawUrl, init = {}) => {
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    const signal = init.signal ? AbortSignal.any([deadline, init.signal]) : deadline;
    let url = parseUrl(rawUrl);
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    let headers = init.headers;
    for (let hop = 0; ; hop++) {
      const address = await checkTarget(url, allow, prefixes, (host) =>
        beforeDeadline(resolve(host), signal),
      );
      const agent = pinnedAgent(address, opts.timeoutMs);
      const res = await send(agent, url, { method, headers, body, signal }, deadline);
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') {
        return finish(res, agent, url, opts.maxBytes, deadline);
      }
      await discard(res.body, agent);
      if (hop >= maxRedirects) throw new PlatformError('NET_TOO_MANY_REDIRECTS');
      const next = parseUrl(location, url);
      if (next.origin !== url.origin) headers = withoutCredentials(headers);
      url = next;
      if (res.statusCode === 303 || (res.statusCode <= 302 && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
    }
  };
}

/** Rejects when the signal aborts first (a stuck resolver must not outlive the deadline). */
function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** Headers minus the ones that must not follow a redirect to another origin. */
function withoutCredentials(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return headers;
  const drop = new Set(['authorization', 'cookie', 'proxy-authorization']);
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !drop.has(k.toLowerCase())));
}

function parseUrl(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new PlatformError('NET_URL_INVALID');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PlatformError('NET_URL_INVALID');
  if (url.username || url.password) {
    throw new PlatformError('NET_URL_INVALID', 'URLs with embedded credentials are not accepted');
  }
  return url;
}

async function checkTarget(
  url: URL,
  allow: Allowlist,
  prefixes: readonly UrlPrefix[],
  resolve: (host: string) => Promise<string[]>,
): Promise<string> {
  const prefixed = prefixes.some((p) => matchesUrlPrefix(url, p));
  if (prefixes.length > 0 && !prefixed) {
    throw new PlatformError(
      'NET_URL_NOT_ALLOWED',
      `Refused to fetch from ${url.host}: the URL is not under a prefix the operator allows`,
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = parseIp(host) !== null;
  let addresses: string[];
  try {
    addresses = literal ? [host] : await resolve(host);
  } catch (err) {
    if ((err as Error | undefined)?.name === 'TimeoutError') throw new PlatformError('NET_TIMEOUT');
    addresses = [];
  }
  const first = addresses[0];
  if (first === undefined) throw new PlatformError('NET_FETCH_FAILED', `Could not resolve host ${host}`);
  const hostAllowed = prefixed || (!literal && allow.allowsHost(host));
  for (const address of addresses) {
    if (!hostAllowed && isForbiddenAddress(address) && !allow.allowsAddress(address)) {
      throw new PlatformError(
        'NET_ADDRESS_FORBIDDEN',
        `Refused to fetch from ${url.host}: it resolves to a loopback, private, link-local or reserved address (an operator can allowlist internal sources)`,
      );
    }
  }
  return first;
}

/** Closes an agent without waiting; late errors of an abandoned exchange are of no interest. */
function release(agent: Agent): void {
  agent.destroy().catch(() => undefined);
}

/** Drops an unread body (a redirect's or a refused one) and the agent behind it. */
async function discard(body: { dump(opts?: { limit: number }): Promise<void> }, agent: Agent): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
  release(agent);
}

/** An agent whose every connection goes to `address`, whatever the host name says. */
function pinnedAgent(address: string, timeoutMs: number): Agent {
  const family = parseIp(address)?.family ?? 4;
  const pinned = ((_host, options, callback) => {
    if ((options as { all?: boolean }).all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
  return new Agent({
    connect: { lookup: pinned, timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

async function send(
  agent: Agent,
  url: URL,
  req: GuardedRequest & { method: string },
  deadline: AbortSignal,
): Promise<Awaited<ReturnType<typeof request>>> {
  try {
    return await request(url, {
      dispatcher: agent,
      method: req.method as 'GET',
      headers: req.headers,
      body: req.body,
      signal: req.signal,
    });
  } catch (err) {
    release(agent);
    throw fetchError(err, deadline, url);
  }
}

function fetchError(err: unknown, deadline: AbortSignal, url?: URL): PlatformError {
  if (err instanceof PlatformError) return err;
  if (deadline.aborted) return new PlatformError('NET_TIMEOUT');
  const code = (err as { code?: string }).code;
  const where = url ? ` ${url.host}` : '';
  return new PlatformError('NET_FETCH_FAILED', `Could not fetch from${where}${code ? ` (${code})` : ''}`);
}

function finish(
  res: Awaited<ReturnType<typeof request>>,
  agent: Agent,
  url: URL,
  maxBytes: number,
  deadline: AbortSignal,
): GuardedResponse {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    void discard(res.body, agent);
    throw new PlatformError('NET_RESPONSE_TOO_LARGE');
  }
  async function* capped(): AsyncGenerator<Buffer> {
    let seen = 0;
    try {
      for await (const chunk of res.body) {
        seen += (chunk as Buffer).length;
        if (seen > maxBytes) throw new PlatformError('NET_RESPONSE_TOO_LARGE');
        yield chunk as Buffer;
      }
    } catch (err) {
      throw fetchError(err, deadline, url);
    } finally {
      release(agent);
    }
  }
  return {
    status: res.statusCode,
    headers: res.headers,
    url: url.href,
    body: Readable.from(capped(), { objectMode: false }),
  };
}
