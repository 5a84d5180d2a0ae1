import { PlatformError } from '@hangar/core';
import { runSync, submitQueued } from './calls.js';
import type { GatewayContext, GatewayReply, GatewayRequest, GatewayTarget } from './context.js';
import { buildInvocation } from './invocation.js';
import { findRequest, sendCancel, sendResult, sendStatus } from './queue-ops.js';
import { streamStatus } from './status-stream.js';

const EMPTY = Buffer.alloc(0);

/** Splits `owner/app[/rest]`; throws ROUTE_NOT_FOUND when owner or app is missing. */
export function splitPath(path: string): { owner: string; appName: string; rest: string } {
  const start = path.startsWith('/') ? 1 : 0;
  const a = path.indexOf('/', start);
  const owner = a === -1 ? '' : path.slice(start, a);
  const b = path.indexOf('/', a + 1);
  const appName = b === -1 ? path.slice(a + 1) : path.slice(a + 1, b);
  if (owner === '' || appName === '') {
    throw new PlatformError('ROUTE_NOT_FOUND', 'Expected /{owner}/{app}[/{route}]');
  }
  return { owner, appName, rest: b === -1 ? '' : path.slice(b + 1) };
}

/** Handles one gateway call; shared by the `/run` and `/queue` routes and the fal proxy. */
export async function handleGateway(
  ctx: GatewayContext,
  target: GatewayTarget,
  request: GatewayRequest,
  reply: GatewayReply,
): Promise<void> {
  const { owner, appName, rest } = splitPath(target.path);
  const isRead = target.method === 'GET' || target.method === 'PUT';
  if (target.kind === 'queue' && isRead && rest.startsWith('requests/')) {
    return queueOperation(ctx, target, owner, appName, rest, request, reply);
  }
  const inv = await buildInvocation(
    {
      owner,
      appName,
      rest,
      search: target.search,
      method: target.method,
      headers: request.headers,
      body: (request.body as Buffer | undefined) ?? EMPTY,
      principal: request.principal,
    },
    ctx.deps.apps,
    ctx.deps,
  );
  if (target.kind === 'run') return runSync(ctx, inv, reply);
  return submitQueued(ctx, inv, reply);
}

async function queueOperation(
  ctx: GatewayContext,
  target: GatewayTarget,
  owner: string,
  appName: string,
  rest: string,
  request: GatewayRequest,
  reply: GatewayReply,
): Promise<void> {
  const [, requestId = '', op = '', sub, extra] = rest.split('/');
  const kind = `${target.method} ${op}${sub === undefined ? '' : `/${sub}`}`;
  if (requestId === '' || extra !== undefined || !QUEUE_OPS.has(kind)) {
    throw new PlatformError('ROUTE_NOT_FOUND', `No queue operation ${target.method} ${rest}`);
  }
  const found = await findRequest(ctx, owner, appName, requestId, request.principal);
  switch (kind) {
    case 'GET status':
      return sendStatus(ctx, found, target.search, reply);
    case 'GET status/stream':
      return streamStatus(ctx, found, target.search, request, reply);
    case 'PUT cancel':
      return sendCancel(ctx, found, reply);
    default:
      return sendResult(ctx, found, reply);
  }
}

const QUEUE_OPS = new Set(['GET ', 'GET response', 'GET status', 'GET status/stream', 'PUT cancel']);
