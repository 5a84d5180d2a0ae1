import { type Clock, type LogBus, type LogReads, PlatformError, pageInfo, systemClock } from '@hangar/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { type HttpApp, principalOf } from '../../http/app.js';
import { type StreamSlots, streamHolder } from '../../http/stream-slots.js';
import { LogsHistoryResponse } from './entry.js';
import {
  type LabelFilterInput,
  LabelFiltersBody,
  type LogQuery,
  LogQuerySchema,
  resolveLogFilter,
} from './filter.js';
import { parseHistoryBound } from './history-cursor.js';
import { LogStream } from './stream.js';
import { createLogStreamHub } from './stream-hub.js';

/** What the logs routes need. */
export interface LogsRoutesDeps {
  reads: LogReads;
  bus: LogBus;
  /** Commits appended log lines (the stores' `flush`). */
  flushLogs: () => Promise<void>;
  /** Open streams per key, shared with every other stream route (config `limits.max_sse_streams_per_key`). */
  streams: StreamSlots;
  clock?: Clock;
  /** Keep-alive period, default 15 s. */
  pingMs?: number;
  /** Unsent bytes a stream's socket may hold before the client is dropped, default 1 MiB. */
  maxBufferedBytes?: number;
  /** How long a dropped client may take to read its `error` event before the socket is destroyed, default 1 s. */
  dropGraceMs?: number;
}

const HistoryQuery = Type.Object({
  ...LogQuerySchema,
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
const StreamQuery = Type.Object(LogQuerySchema);
const Body = Type.Union([LabelFiltersBody, Type.Null()]);
/** Registers `POST /v1/serverless/logs/history` and `POST /v1/serverless/logs/stream`. */
export function registerLogsRoutes(app: HttpApp, deps: LogsRoutesDeps): void {
  const now = deps.clock ?? systemClock;
  const hub = createLogStreamHub({ bus: deps.bus, pingMs: deps.pingMs });
  const open = new Set<LogStream>();
  const streamDeps = {
    hub,
    reads: deps.reads,
    flushLogs: deps.flushLogs,
    now,
    maxBufferedBytes: deps.maxBufferedBytes ?? 1 << 20,
    dropGraceMs: deps.dropGraceMs ?? 1_000,
    maxPendingLines: 50_000,
    pageSize: 500,
    endGraceMs: 1_000,
  };

  app.register(async (scope: HttpApp) => {
    // An empty body with a JSON content type means "no label filters", not a parse error.
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
      if ((text as string).trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text as string));
      } catch {
        done(new PlatformError('REQUEST_BAD_JSON'), undefined);
      }
    });

    scope.post(
      '/v1/serverless/logs/history',
      {
        schema: {
          operationId: 'serverlessLogsHistory',
          querystring: HistoryQuery,
          body: Body,
          response: { 200: LogsHistoryResponse },
        },
      },
      async (request, reply) => {
        const { cursor, ...q } = request.query;
        // `end` may carry a previous page's cursor (fal: "use as 'until'"): it bounds the page like one,
        // so the window itself ends after that millisecond.
        const bounds = cursor === undefined ? [] : [parseHistoryBound(cursor, 'cursor')];
        if (q.end?.includes('T')) {
          const until = parseHistoryBound(q.end, 'end');
          bounds.push(until);
          q.end = new Date(until.ts + 1).toISOString();
        }
        const filter = resolveLogFilter(q, request.body, principalOf(request).owner, now());
        // Entries are built and serialised on the query thread; the schema above documents the body.
        const page = await deps.reads.historyPage({ filter, bounds, limit: q.limit });
        const info = pageInfo(page.next);
        return (reply as FastifyReply)
          .type('application/json; charset=utf-8')
          .send(
            `{"items":${page.itemsJson},"next_cursor":${JSON.stringify(info.next_cursor)},"has_more":${info.has_more}}`,
          );
      },
    );

    scope.post(
      '/v1/serverless/logs/stream',
      { schema: { operationId: 'serverlessLogsStream', querystring: StreamQuery, body: Body } },
      (request, reply) =>
        openStream(
          request as FastifyRequest<{ Querystring: LogQuery; Body: LabelFilterInput[] | null }>,
          reply,
        ),
    );
  });

  const openStream = async (
    request: FastifyRequest<{ Querystring: LogQuery; Body: LabelFilterInput[] | null }>,
    reply: FastifyReply,
  ) => {
    const principal = principalOf(request);
    const filter = resolveLogFilter(request.query, request.body, principal.owner, now(), true);
    const resumeAfter = lastEventId(request.headers['last-event-id']);
    // Over the cap the answer is fal's 429, before any stream starts (as the status stream answers).
    const release = await deps.streams.acquire(streamHolder(principal, request.ip));
    if (!release) {
      const msg = `Too many concurrent streams for this key (at most ${deps.streams.max})`;
      throw new PlatformError('LOGS_STREAM_LIMIT', msg);
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    raw.write(': connected\n\n');
    const stream = new LogStream(raw, filter, streamDeps);
    open.add(stream);
    stream.onClose(() => {
      release();
      open.delete(stream);
    });
    stream.run(resumeAfter).catch((err) => {
      request.log.error({ err, reqId: request.id }, 'log stream failed');
      stream.fail('SERVER_INTERNAL');
    });
  };

  app.addHook('preClose', async () => {
    for (const s of open) s.fail('SERVER_SHUTTING_DOWN');
    hub.close();
  });
}

/** Parses `Last-Event-ID` (a log id this server sent); 400 for anything else. */
function lastEventId(header: string | string[] | undefined): number | null {
  if (header === undefined || header === '') return null;
  const n = Number(Array.isArray(header) ? header[0] : header);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new PlatformError('REQUEST_INVALID', 'Last-Event-ID must be a log id');
  return n;
}
