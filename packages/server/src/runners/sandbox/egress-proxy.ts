import { lookup } from 'node:dns/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { type Allowlist, createAllowlist, isForbiddenAddress } from '../../net/address-policy.js';

/** The HTTP proxy sandboxed runners reach the outside through (`runners.sandbox.egress: "proxy"`). */
export interface EgressProxy {
  /** Port on 127.0.0.1; the runner's namespace forwards the same port to it. */
  readonly port: number;
  close(): Promise<void>;
}

/** Options of the egress proxy. */
export interface EgressProxyOptions {
  /** Hosts, IPs or CIDRs runners may reach although private (an operator's model mirror). */
  allowlist: readonly string[];
  /** Idle time after which a tunnel or request is cut, ms. */
  idleTimeoutMs?: number;
  logger?: { warn(obj: object, msg?: string): void };
}

/**
 * An HTTP forward proxy (CONNECT tunnels for https, absolute-URI requests for http) that connects only
 * to public addresses, or to what the operator's allowlist names. Every name is resolved here and the
 * connection goes to the address that passed the check, so DNS tricks cannot redirect it. It is the
 * only way out of a runner's network namespace: loopback, private ranges and cloud metadata stay closed.
 */
export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const allowlist = createAllowlist(options.allowlist);
  const idleMs = options.idleTimeoutMs ?? 300_000;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    void forwardPlain(req, res, allowlist, idleMs).catch((err: Error) => refuse(res, err));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    void tunnel(req, client, head, allowlist, idleMs).catch((err: Error) => {
      const status = err instanceof EgressRefused ? '403 Forbidden' : '502 Bad Gateway';
      client.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\n\r\n${err.message}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

class EgressRefused extends Error {}

/** The address to connect to for `host`, or a refusal naming why. */
async function pickAddress(host: string, allowlist: Allowlist): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  const candidates = isIP(bare)
    ? [bare]
    : (await lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
  const hostAllowed = !isIP(bare) && allowlist.allowsHost(bare);
  const ok = candidates.find((ip) => hostAllowed || !isForbiddenAddress(ip) || allowlist.allowsAddress(ip));
  if (!ok) throw new EgressRefused(`egress to ${bare} is not allowed (private or local address)`);
  return ok;
}

function splitHostPort(authority: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(authority);
  if (!m?.[1]) throw new EgressRefused(`bad target "${authority}"`);
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (!(port > 0 && port < 65536)) throw new EgressRefused(`bad port in "${authority}"`);
  return { host: m[1], port };
}

async function tunnel(
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  allowlist: Allowlist,
  idleMs: number,
): Promise<void> {
  const { host, port } = splitHostPort(req.url ?? '', 443);
  const address = await pickAddress(host, allowlist);
  const upstream = connect({ host: address, port });
  await new Promise<void>((resolve, reject) => {
    upstream.once('connect', resolve);
    upstream.once('error', reject);
  });
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) upstream.write(head);
  for (const s of [client, upstream]) {
    s.setTimeout(idleMs, () => s.destroy());
    s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream).pipe(client);
}

const HOP_HEADERS = new Set([
  'proxy-authorization',
  'proxy-connection',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
]);

async function forwardPlain(
  req: IncomingMessage,
  res: ServerResponse,
  allowlist: Allowlist,
  idleMs: number,
): Promise<void> {
  let target: URL;
  try {
    target = new URL(req.url ?? '');
  } catch {
    throw new EgressRefused('a proxy request needs an absolute http:// URL');
  }
  if (target.protocol !== 'http:') throw new EgressRefused('only http:// URLs (use CONNECT for https)');
  const { host, port } = splitHostPort(target.host, 80);
  const address = await pickAddress(host, allowlist);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
  }
  const upstream = httpRequest({
    host: address,
    port,
    method: req.method,
    path: `${target.pathname}${target.search}`,
    headers: { ...headers, host: target.host },
    setHost: false,
    timeout: idleMs,
  });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('upstream timed out')));
  upstream.on('error', (err) => refuse(res, err));
  req.pipe(upstream);
}

function refuse(res: ServerResponse, err: Error): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(err instanceof EgressRefused ? 403 : 502, { 'content-type': 'text/plain' });
  res.end(`${err.message}\n`);
}
