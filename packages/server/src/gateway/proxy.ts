import { PlatformError } from '@hangar/core';
import type { FastifyReply, FastifyRequest, InjectOptions } from 'fastify';
import type { HttpApp } from '../http/app.js';
import type { GatewayContext, GatewayTarget } from './context.js';
import { handleGateway } from './router.js';

/** Where a proxy target URL leads: a gateway call, or a path on this server (Platform/REST API). */
export type ProxyRoute = { gateway: GatewayTarget } | { local: string };

const PASSED_OVER_HEADERS = new Set(['host', 'content-length', 'connection', 'x-fal-target-url']);
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date']);

/**
 * Maps an `x-fal-target-url` onto this server: `queue.fal.run/…` → queue, `fal.run/…` → run,
 * `rest.fal.ai`/`api.fal.ai` → the same path here, and URLs already on this server as they are.
 */
export function mapProxyTarget(rawTarget: string | undefined, method: string, publicUrl: string): ProxyRoute {
  if (!rawTarget) throw new PlatformError('PROXY_TARGET_INVALID', 'x-fal-target-url is required');
  let url: URL;
  try {
    url = new URL(rawTarget);
  } catch {
    throw new PlatformError('PROXY_TARGET_INVALID');
  }
  const search = url.search.slice(1);
  const host = url.host.toLowerCase();
  if (url.protocol === 'https:' && host === 'queue.fal.run') {
    return { gateway: { kind: 'queue', method, path: url.pathname.slice(1), search } };
  }
  if (url.protocol === 'https:' && host === 'fal.run') {
    return { gateway: { kind: 'run', method, path: url.pathname.slice(1), search } };
  }
  if (url.protocol === 'https:' && /^(rest|api)(\.alpha)?\.fal\.ai$/.test(host)) {
    return { local: url.pathname + url.search };
  }
  if (`${url.protocol}//${host}` === new URL(publicUrl).origin.toLowerCase()) {
    const path = url.pathname;
    if (path.startsWith('/queue/'))
      return { gateway: { kind: 'queue', method, path: path.slice(7), search } };
    if (path.startsWith('/run/')) return { gateway: { kind: 'run', method, path: path.slice(5), search } };
    if (path !== '/fal/proxy') return { local: path + url.search };
  }
  throw new PlatformError('PROXY_TARGET_INVALID');
}

/** `POST|GET|PUT /fal/proxy`: serves what `fal.config({ proxyUrl })` sends, in process. */
export async function handleProxy(
  ctx: GatewayContext,
  app: HttpApp,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const header = request.headers['x-fal-target-url'];
  const route = mapProxyTarget(
    Array.isArray(header) ? header[0] : header,
    request.method,
    ctx.deps.publicUrl(),
  );
  if ('gateway' in route) return handleGateway(ctx, route.gateway, request, reply);
  await forwardLocally(app, route.local, request, reply);
}

async function forwardLocally(
  app: HttpApp,
  path: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !PASSED_OVER_HEADERS.has(name)) headers[name] = value;
  }
  const body = request.body as Buffer | undefined;
  const res = await app.inject({
    method: request.method as InjectOptions['method'],
    url: path,
    headers,
    // The forwarded call is the client's own: its address counts for throttling, not the loopback's.
    ...(request.ip ? { remoteAddress: request.ip } : {}),
    ...(body && body.length > 0 ? { payload: body } : {}),
  });
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined && !FRAMING_HEADERS.has(name)) reply.header(name, value);
  }
  reply.code(res.statusCode).send(res.rawPayload);
}
