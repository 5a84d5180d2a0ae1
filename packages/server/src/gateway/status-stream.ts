import { isFanoutId, PlatformError } from '@hangar/core';
import { streamHolder } from '../http/stream-slots.js';
import type { GatewayContext, GatewayReply, GatewayRequest } from './context.js';
import { currentStatus, type FoundRequest, requestLogs, wantsLogs } from './queue-ops.js';
import { toRequestLog } from './status-body.js';

const PING_MS = 10_000;
/** Queue positions are not pushed by the dispatcher, so queued requests are re-checked this often. */
const POSITION_POLL_MS = 500;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * `GET …/requests/:id/status/stream`: one `data:` event per change (with `logs=1`, only the lines new
 * since the previous event), `: ping` keep-alives, and the stream closed after the COMPLETED event.
 * Each stream holds one of the caller's stream slots until it closes; with none left it answers 429.
 */
export async function streamStatus(
  ctx: GatewayContext,
  found: FoundRequest,
  search: string,
  request: GatewayRequest,
  reply: GatewayReply,
): Promise<void> {
  const slots = ctx.deps.streams;
  const release = await slots.acquire(streamHolder(request.principal, request.ip));
  if (!release) {
    const msg = `Too many concurrent streams for this key (at most ${slots.max})`;
    throw new PlatformError('LOGS_STREAM_LIMIT', msg);
  }
  const withLogs = wantsLogs(search);
  const { rec, entry } = found;
  reply.hijack();
  const res = reply.raw;
  res.on('close', release);
  res.writeHead(200, { ...SSE_HEADERS, 'x-fal-request-id': rec.requestId });
  const feed = ctx.deps.statusFeed;
  if (feed && !entry && rec.status !== 'COMPLETED') {
    // Running on another node of the cluster: follow the changes it announces.
    const last = request.headers['last-event-id'];
    const afterId = typeof last === 'string' && isFanoutId(last) ? last : null;
    const sink = { write: (c: string) => res.write(c), end: () => res.end() };
    const opts = {
      initial: await currentStatus(ctx, rec, null),
      withLogs,
      toLog: toRequestLog,
      pingMs: PING_MS,
    };
    const stop = feed.follow(rec.requestId, afterId, sink, opts);
    const endStream = () => {
      stop();
      res.end();
    };
    ctx.streams.add(endStream);
    res.on('close', () => {
      stop();
      ctx.streams.delete(endStream);
    });
    return;
  }

  if (!entry || entry.finishedAt !== null) {
    const logs = withLogs ? await requestLogs(ctx, found) : null;
    res.end(`data: ${JSON.stringify(await currentStatus(ctx, rec, logs))}\n\n`);
    return;
  }

  let sentLogs = 0;
  let lastState = '';
  // Sends one at a time: a cluster queue answers positions asynchronously.
  let sending: Promise<void> = Promise.resolve();
  const send = () => {
    sending = sending.then(sendNow).catch(() => {});
  };
  const sendNow = async () => {
    if (stopped) return;
    const hasNewLogs = withLogs && entry.logs.length > sentLogs;
    const body = await currentStatus(ctx, rec, null);
    if (stopped) return;
    const state = `${body['status']}:${body['queue_position'] ?? ''}`;
    if (state === lastState && !hasNewLogs) return;
    lastState = state;
    if (withLogs && 'logs' in body) {
      // The last event carries every line not sent yet, from the store (see `requestLogs`).
      const lines =
        rec.status === 'COMPLETED' ? await ctx.deps.logs.listByRequest(rec.requestId) : entry.logs;
      if (stopped) return;
      body['logs'] = lines.slice(sentLogs).map(toRequestLog);
      sentLogs = lines.length;
    }
    res.write(`data: ${JSON.stringify(body)}\n\n`);
    if (rec.status === 'COMPLETED') stop(true);
  };
  const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
  const poll = setInterval(() => {
    if (rec.status === 'IN_QUEUE') send();
  }, POSITION_POLL_MS);
  let stopped = false;
  const stop = (end: boolean) => {
    stopped = true;
    clearInterval(ping);
    clearInterval(poll);
    entry.listeners.delete(send);
    ctx.streams.delete(endStream);
    release();
    if (end) res.end();
  };
  const endStream = () => stop(true);
  ctx.streams.add(endStream);
  entry.listeners.add(send);
  res.on('close', () => stop(false));
  send();
}
