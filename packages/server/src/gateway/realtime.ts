import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  falGatewayErrorHeaders,
  type HeldOutcome,
  PlatformError,
  type Principal,
  toFalGatewayError,
} from '@hangar/core';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../http/auth.js';
import { type AuthThrottle, authenticateThrottled } from '../http/auth-throttle.js';
import { streamHolder } from '../http/stream-slots.js';
import type { GatewayContext } from './context.js';
import { authorizeApp, forwardHeaders, headerValue, type Invocation } from './invocation.js';
import { verifyRealtimeToken } from './realtime-token.js';
import { splitPath } from './router.js';

/** What WebSocket connections need besides the gateway. */
export interface RealtimeDeps {
  authenticator: Authenticator;
  /** Failed-authentication throttle shared with every other route (`limits.auth_failures`). */
  authThrottle?: AuthThrottle;
  /** Secret realtime tokens are signed with. */
  tokenSecret: Buffer;
  /** Unexpected failures are logged here. */
  onError: (err: unknown) => void;
}

/** Request headers that belong to the client's own handshake, not to the app. */
const HANDSHAKE_HEADERS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions'];
const EMPTY = Buffer.alloc(0);

/**
 * Serves WebSocket upgrades on `/run/{owner}/{app}/{route}` for routes the manifest lists in
 * `websocket_routes`: the connection holds one runner slot for its life and its frames pass unchanged.
 * Returns the upgrade listener for the HTTP server.
 */
export function createRealtimeUpgrade(
  ctx: GatewayContext,
  deps: RealtimeDeps,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    connect(ctx, deps, wss, req, socket, head).catch((err: unknown) => {
      if (!(err instanceof PlatformError)) deps.onError(err);
      refuse(socket, err instanceof PlatformError ? err : new PlatformError('SERVER_INTERNAL'));
    });
  };
}

async function connect(
  ctx: GatewayContext,
  deps: RealtimeDeps,
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const url = req.url ?? '/';
  if (!url.startsWith('/run/')) throw new PlatformError('ROUTE_NOT_FOUND');
  const q = url.indexOf('?');
  const { owner, appName, rest } = splitPath(q === -1 ? url.slice(5) : url.slice(5, q));
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const token = params.get('fal_jwt_token');
  // fal's own parameters are the gateway's, never the app's.
  for (const name of [...params.keys()]) if (name.startsWith('fal_')) params.delete(name);
  const principal = await principalOf(
    deps,
    req.headers.authorization,
    req.socket.remoteAddress ?? '',
    token,
    owner,
    appName,
    ctx.deps.clock(),
  );
  const app = await ctx.deps.apps.getApp(owner, appName);
  if (!app) throw new PlatformError('APP_NOT_FOUND', `App ${owner}/${appName} not found`);
  authorizeApp(app, principal);
  const route = websocketRoute(app.manifest.routes, app.manifest.websocket_routes ?? [], rest);
  const release = await ctx.deps.streams.acquire(streamHolder(principal, req.socket.remoteAddress));
  if (!release) throw new PlatformError('LOGS_STREAM_LIMIT');
  let upgraded = false;
  try {
    const query = params.toString();
    const headers = forwardHeaders(req.headers, principal);
    for (const name of HANDSHAKE_HEADERS) delete headers[name];
    const inv: Invocation = {
      app,
      route,
      endpointId: `${owner}/${appName}${route === '/' ? '' : route}`,
      method: 'GET',
      forwardPath: query ? `${route}?${query}` : route,
      headers,
      body: EMPTY,
      principal,
      priority: 'normal',
      noRetry: true,
      storeIo: true,
      timeoutS: app.manifest.request_timeout,
      startTimeoutS: null,
      retryBudgets: null,
      jsonInput: null,
      webhookUrl: null,
      maxQueueLength: null,
      runnerHint: headerValue(req.headers['x-fal-runner-hint'])?.trim() || null,
      hold: (runnerUrl, requestId) => {
        if (socket.destroyed) return Promise.resolve(summary(499, null, 0, 0));
        return new Promise<HeldOutcome>((resolve) => {
          const target = `${runnerUrl.replace(/^http/, 'ws')}${inv.forwardPath}`;
          const bridge = new Bridge(ctx, wss, req, socket, head, resolve);
          bridge.open(target, {
            ...headers,
            'x-fal-request-id': requestId,
            'x-fal-endpoint': inv.endpointId,
          });
          bridge.onUpgraded = () => {
            upgraded = true;
          };
        });
      },
    };
    const outcome = await ctx.exec.runSync(inv);
    if (!upgraded) writeHttp(socket, outcome.response.statusCode, outcome.response.body);
  } finally {
    release();
  }
}

/** The caller: its key, or a realtime token's grant (checked against this app), or nobody. */
async function principalOf(
  deps: RealtimeDeps,
  authorization: string | undefined,
  address: string,
  token: string | null,
  owner: string,
  app: string,
  now: number,
): Promise<Principal | null> {
  if (authorization) {
    return deps.authThrottle
      ? authenticateThrottled(deps.authenticator, deps.authThrottle, authorization, address)
      : deps.authenticator.authenticate(authorization);
  }
  if (token !== null) return verifyRealtimeToken(deps.tokenSecret, token, owner, app, now).principal;
  return null;
}

function websocketRoute(routes: readonly string[], wsRoutes: readonly string[], rest: string): string {
  const trimmed = rest.endsWith('/') ? rest.slice(0, -1) : rest;
  const route = trimmed === '' ? '/' : `/${trimmed}`;
  if (wsRoutes.includes(route)) return route;
  if (routes.includes(route) || (routes.length === 0 && route === '/')) {
    throw new PlatformError('REALTIME_NOT_WEBSOCKET', `Route ${route} does not accept WebSocket connections`);
  }
  throw new PlatformError('ROUTE_NOT_FOUND', `No WebSocket route ${route}`);
}

/** One client connection joined to the runner's, counting bytes each way until both have closed. */
class Bridge {
  onUpgraded: () => void = () => {};
  private received = 0;
  private sent = 0;
  private closeCode: number | null = null;
  private open_ = 2;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly wss: WebSocketServer,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly resolve: (outcome: HeldOutcome) => void,
  ) {}

  open(target: string, headers: Record<string, string>): void {
    const protocols = (this.req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const upstream = new WebSocket(target, protocols, { headers, perMessageDeflate: false });
    upstream.on('unexpected-response', (_req, res) => {
      res.resume();
      this.refused(`The app refused the WebSocket connection (HTTP ${res.statusCode})`);
    });
    upstream.on('error', () => {
      if (upstream.readyState !== WebSocket.OPEN) this.refused('The app could not be reached');
    });
    upstream.on('open', () => {
      if (this.socket.destroyed) {
        upstream.terminate();
        this.resolve(summary(499, null, 0, 0));
        return;
      }
      const chosen = upstream.protocol;
      const wss = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        handleProtocols: () => chosen || false,
      });
      (chosen ? wss : this.wss).handleUpgrade(this.req, this.socket, this.head, (client) => {
        this.onUpgraded();
        this.join(client, upstream);
      });
    });
  }

  private refused(message: string): void {
    const err = new PlatformError('RUNNER_CONNECTION_FAILED', message);
    this.resolve({ statusCode: err.status, body: Buffer.from(JSON.stringify(toFalGatewayError(err))) });
  }

  private join(client: WebSocket, upstream: WebSocket): void {
    const end = () => {
      client.terminate();
      upstream.terminate();
    };
    this.ctx.streams.add(end);
    client.on('message', (data, isBinary) => {
      this.received += sizeOf(data);
      upstream.send(data, { binary: isBinary });
    });
    upstream.on('message', (data, isBinary) => {
      this.sent += sizeOf(data);
      client.send(data, { binary: isBinary });
    });
    const closed = (other: WebSocket) => (code: number, reason: Buffer) => {
      this.closeCode ??= code;
      closeWith(other, code, reason);
      if (--this.open_ > 0) return;
      this.ctx.streams.delete(end);
      this.resolve(summary(101, this.closeCode, this.received, this.sent));
    };
    client.on('close', closed(upstream));
    upstream.on('close', closed(client));
    client.on('error', () => client.terminate());
  }
}

/** Passes a close on with its code where the protocol allows sending it (1005 and 1006 are never sent). */
function closeWith(ws: WebSocket, code: number, reason: Buffer): void {
  if (ws.readyState === WebSocket.CLOSED) return;
  try {
    if (code === 1005) ws.close();
    else ws.close(code, reason);
  } catch {
    ws.terminate();
  }
}

function sizeOf(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function summary(statusCode: number, closeCode: number | null, received: number, sent: number): HeldOutcome {
  const websocket = { close_code: closeCode, bytes_received: received, bytes_sent: sent };
  return { statusCode, body: Buffer.from(JSON.stringify({ websocket })) };
}

/** Refuses an upgrade on `/run` in fal's gateway error shape, like the gateway's HTTP answers. */
function refuse(socket: Duplex, err: PlatformError): void {
  const body = toFalGatewayError(err);
  const headers = { ...err.headers, ...falGatewayErrorHeaders(err) };
  writeHttp(socket, err.status, Buffer.from(JSON.stringify(body)), headers);
}

function writeHttp(socket: Duplex, status: number, body: Buffer, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  // The error's own headers (e.g. `Retry-After` of a 429), as the HTTP routes send them.
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n${extra}` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head), body]));
}
