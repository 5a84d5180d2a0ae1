import { PlatformError } from '@hangar/core';
import type { GatewayContext, GatewayReply } from './context.js';
import type { Invocation } from './invocation.js';
import { NetGuardError } from './net-guard.js';
import { queueUrls } from './status-body.js';
import { SKIPPED_RESPONSE_HEADERS, StreamedReply } from './stream-reply.js';

/**
 * `/run/…`: dispatches and answers with the app's status, headers and body; an answer the runner streams
 * has already been written through as it arrived.
 */
export async function runSync(ctx: GatewayContext, inv: Invocation, reply: GatewayReply): Promise<void> {
  checkQueueLength(ctx, inv);
  const stream = new StreamedReply(reply, ctx.deps.jsonCap);
  const { requestId, result, response } = await ctx.exec.runSync(inv, stream);
  if (stream.opened) return;
  if (!result.cancelled) {
    const headers = result.headers;
    for (const name in headers) {
      if (!SKIPPED_RESPONSE_HEADERS.has(name)) reply.header(name, headers[name]!);
    }
  }
  const platform = response.headers;
  if (platform) for (const name in platform) reply.header(name, platform[name]!);
  reply
    .code(response.statusCode)
    .header('content-type', response.contentType)
    .header('x-fal-request-id', requestId)
    .send(response.body);
}

/** `POST /queue/…`: answers once the request is durably recorded and queued. */
export async function submitQueued(ctx: GatewayContext, inv: Invocation, reply: GatewayReply): Promise<void> {
  checkQueueLength(ctx, inv);
  if (inv.webhookUrl) {
    try {
      ctx.guard.precheck(inv.webhookUrl);
    } catch (err) {
      if (err instanceof NetGuardError)
        throw new PlatformError('REQUEST_INVALID', `fal_webhook: ${err.message}`);
      throw err;
    }
  }
  const entry = await ctx.exec.submit(inv);
  const rec = entry.rec;
  const urls = queueUrls(ctx.deps.publicUrl(), rec.owner, rec.app, rec.requestId);
  const body: Record<string, unknown> = {
    ...urls,
    status: 'IN_QUEUE',
    // The request is accepted: a queue that cannot tell its position (an outage) must not fail the answer.
    queue_position:
      (await Promise.resolve(ctx.deps.dispatcher.queuePosition(rec.requestId)).catch(() => 0)) ?? 0,
  };
  if (inv.webhookUrl) body['gateway_request_id'] = rec.requestId;
  reply.code(200).header('x-fal-request-id', rec.requestId).send(body);
}

/**
 * `fal_max_queue_length`: 429 when more requests than that already wait in the app's queue (every
 * route and caller of the app share it), checked before the request is recorded.
 */
function checkQueueLength(ctx: GatewayContext, inv: Invocation): void {
  const max = inv.maxQueueLength;
  if (max === null) return;
  const { owner, name } = inv.app;
  const waiting = ctx.deps.dispatcher.stats(owner).find((s) => s.app === name)?.queueSize ?? 0;
  if (waiting > max) {
    throw new PlatformError(
      'QUEUE_LENGTH_EXCEEDED',
      `${waiting} requests are waiting in the queue of ${owner}/${name}, more than fal_max_queue_length=${max}`,
    );
  }
}
