import { PlatformError, type Principal, type RequestRecord, type StoredResult } from '@hangar/core';
import type { GatewayContext, GatewayReply } from './context.js';
import type { LiveRequest } from './live.js';
import { queueUrls, type RequestLog, statusBody, toRequestLog } from './status-body.js';

/** A queued request found for a read or a cancel. */
export interface FoundRequest {
  rec: RequestRecord;
  entry: LiveRequest | undefined;
}

/**
 * Finds a queued request of `owner/app` the principal may see: keys of the app's owner and the key
 * that submitted it (anyone holding the id when it was submitted without a key). Others get 404.
 */
export async function findRequest(
  ctx: GatewayContext,
  owner: string,
  app: string,
  requestId: string,
  principal: Principal | null,
): Promise<FoundRequest> {
  const entry = ctx.live.get(requestId);
  const rec = entry?.rec ?? (await ctx.deps.requests.get(requestId));
  if (rec?.mode !== 'queue' || rec.owner !== owner || rec.app !== app) throw notFound(requestId);
  if (rec.callerKeyId === null) return { rec, entry };
  if (!principal) throw new PlatformError('AUTH_MISSING');
  if (principal.owner !== rec.owner && principal.keyId !== rec.callerKeyId) throw notFound(requestId);
  return { rec, entry };
}

function notFound(requestId: string): PlatformError {
  return new PlatformError('QUEUE_REQUEST_NOT_FOUND', `Request ${requestId} not found`);
}

/** True when a `logs` query value asks for logs (fal's JS client sends 0/1, Python true/false). */
export function wantsLogs(search: string): boolean {
  if (!search.includes('logs=')) return false;
  const value = new URLSearchParams(search).get('logs');
  return value === '1' || value === 'true';
}

/**
 * All log lines of a request in fal's shape: from memory while it runs, else from the store. A completed
 * request's lines are read from the store, which first commits what was appended: a store that publishes
 * lines only once committed (PostgreSQL) may not have handed the last ones to memory yet.
 */
export async function requestLogs(ctx: GatewayContext, found: FoundRequest): Promise<RequestLog[]> {
  const { entry, rec } = found;
  const lines =
    entry && rec.status !== 'COMPLETED' ? entry.logs : await ctx.deps.logs.listByRequest(rec.requestId);
  return lines.map(toRequestLog);
}

/** The current status body of a request. */
export async function currentStatus(
  ctx: GatewayContext,
  rec: RequestRecord,
  logs: RequestLog[] | null,
): Promise<Record<string, unknown>> {
  const urls = queueUrls(ctx.deps.publicUrl(), rec.owner, rec.app, rec.requestId);
  const position =
    rec.status === 'IN_QUEUE' ? ((await ctx.deps.dispatcher.queuePosition(rec.requestId)) ?? 0) : 0;
  return statusBody(rec, urls, position, logs);
}

/** `GET …/requests/:id/status`: 202 while queued or running, 200 once completed. */
export async function sendStatus(
  ctx: GatewayContext,
  found: FoundRequest,
  search: string,
  reply: GatewayReply,
): Promise<void> {
  const { rec, entry } = found;
  reply.code(rec.status === 'COMPLETED' ? 200 : 202).header('x-fal-request-id', rec.requestId);
  if (wantsLogs(search)) {
    reply.send(await currentStatus(ctx, rec, await requestLogs(ctx, found)));
    return;
  }
  // Polling is the common case: once running or finished, the body only changes with the status.
  if (entry === undefined || rec.status === 'IN_QUEUE') {
    reply.send(await currentStatus(ctx, rec, null));
    return;
  }
  if (entry.statusJsonOf !== rec.status) {
    entry.statusJson = JSON.stringify(await currentStatus(ctx, rec, null));
    entry.statusJsonOf = rec.status;
  }
  reply.header('content-type', JSON_TYPE).send(entry.statusJson);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** `GET …/requests/:id`: the app's answer with its status; 400 before completion, 404 once expired. */
export async function sendResult(
  ctx: GatewayContext,
  found: FoundRequest,
  reply: GatewayReply,
): Promise<void> {
  const { rec, entry } = found;
  if (rec.status !== 'COMPLETED') throw new PlatformError('QUEUE_NOT_COMPLETED');
  const result: StoredResult | null = entry?.result ?? (await ctx.deps.requests.getResult(rec.requestId));
  if (!result) throw notFound(rec.requestId);
  const headers = result.headers;
  if (headers) for (const name in headers) reply.header(name, headers[name]!);
  // Results stored before their headers were kept: fal's clients tell a start-deadline 504 by this one.
  if (rec.errorClass === 'start_timeout') reply.header('x-fal-request-timeout-type', 'user');
  reply
    .code(result.statusCode)
    .header('content-type', result.contentType)
    .header('x-fal-request-id', rec.requestId)
    .send(result.body);
}

/** `PUT …/requests/:id/cancel`: queued requests are removed, running ones are signalled. */
export async function sendCancel(
  ctx: GatewayContext,
  found: FoundRequest,
  reply: GatewayReply,
): Promise<void> {
  const { rec } = found;
  if (rec.status === 'COMPLETED') {
    reply.code(400).send({ status: 'ALREADY_COMPLETED' });
    return;
  }
  const { dispatcher } = ctx.deps;
  if (!(rec.status === 'IN_QUEUE' && (await dispatcher.cancelQueued(rec.requestId)))) {
    await dispatcher.cancelRunning(rec.requestId);
  }
  reply.code(202).send({ status: 'CANCELLATION_REQUESTED' });
}
